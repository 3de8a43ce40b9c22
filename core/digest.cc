#include "core/digest.h"

#include <openssl/evp.h>

#include "core/error.h"

namespace dd {
namespace {

std::size_t hex_length(std::string_view algorithm) {
  if (algorithm == "sha256") return 64;
  if (algorithm == "sha512") return 128;
  return 0;
}

}  // namespace

Digest Digest::parse(std::string_view text, std::string_view what) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos)
    fail(Errc::bad_input, "{} '{:.80}' is not of the form algorithm:hex", what, text);
  const auto algorithm = text.substr(0, colon);
  const auto hex = text.substr(colon + 1);
  const auto expected = hex_length(algorithm);
  if (expected == 0)
    fail(Errc::bad_input, "{} '{:.80}' uses an unsupported algorithm (sha256, sha512)", what, text);
  if (hex.size() != expected)
    fail(Errc::bad_input, "{} '{:.80}' has {} hex digits, {} expected", what, text, hex.size(), expected);
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      fail(Errc::bad_input, "{} '{:.80}' is not lowercase hex", what, text);
  Digest d;
  d.algorithm_ = std::string(algorithm);
  d.hex_ = std::string(hex);
  return d;
}

Digest Digest::sha256_of(std::string_view bytes) {
  Hasher h;
  h.update(bytes.data(), bytes.size());
  return h.finish();
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(std::string_view algorithm) : impl_(std::make_unique<Impl>()), algorithm_(algorithm) {
  const EVP_MD* md = algorithm == "sha512" ? EVP_sha512() : algorithm == "sha256" ? EVP_sha256() : nullptr;
  if (md == nullptr) fail(Errc::unsupported, "digest algorithm '{}' is not supported", algorithm);
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1)
    fail(Errc::internal, "cannot initialise {} hasher", algorithm);
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, std::size_t size) {
  if (size == 0) return;
  EVP_DigestUpdate(impl_->ctx, data, size);
  bytes_ += size;
}

Digest Hasher::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  return Digest::from_raw(algorithm_, std::string_view(reinterpret_cast<const char*>(md), len));
}

Digest Digest::from_raw(std::string_view algorithm, std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text(algorithm);
  text.push_back(':');
  for (unsigned char c : raw) {
    text.push_back(kHex[c >> 4]);
    text.push_back(kHex[c & 15]);
  }
  return parse(text);  // checks the length for the algorithm
}

std::string Digest::raw() const {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  out.reserve(hex_.size() / 2);
  for (std::size_t i = 0; i + 1 < hex_.size(); i += 2) out.push_back(static_cast<char>(nibble(hex_[i]) << 4 | nibble(hex_[i + 1])));
  return out;
}

}  // namespace dd
