#include "delta/package_trust.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "core/byte_stream.h"
#include "core/durable_file.h"
#include "core/error.h"

namespace dd {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string read_small_file(const std::string& path, const std::string& what) {
  UniqueFd fd = open_for_reading(path);
  SequentialFdStream in(std::move(fd), what);
  return read_capped(in, 64 * 1024, what);
}

std::string raw_public_key(EVP_PKEY* key) {
  std::size_t n = 32;
  std::string raw(n, '\0');
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &n) != 1 || n != 32)
    fail(Errc::internal, "could not read an Ed25519 public key");
  return raw;
}

Key read_pem_key(const std::string& path, bool is_private) {
  const std::string pem = read_small_file(path, path);
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                     : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail(Errc::bad_input, "{} is not a PEM {} key", path, is_private ? "private" : "public");
  if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
    fail(Errc::bad_input, "{} is not an Ed25519 key (make one with docker_delta keygen)", path);
  return key;
}

std::string pem_of(EVP_PKEY* key, bool is_private) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  const int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                            : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) fail(Errc::internal, "could not write a key as PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// Written whole or not at all, with `mode` from the start (a private key is never readable by others).
void write_new_file(const std::string& path, const std::string& bytes, mode_t mode, bool force) {
  const std::string temp = path + ".docker_delta-tmp";
  ::unlink(temp.c_str());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) fail_errno(temp);
  try {
    if (::fchmod(fd.get(), mode) != 0) fail_errno(temp);
    write_all(fd.get(), bytes.data(), bytes.size(), temp);
    sync_fd(fd.get(), temp);
    fd = UniqueFd();
    if (!force && std::filesystem::exists(path)) fail(Errc::exists, "{} exists (use --force to replace it)", path);
    if (::rename(temp.c_str(), path.c_str()) != 0) fail_errno(path);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  sync_parent_directory(path);
}

std::string short_id(const std::string& raw_key) { return Digest::sha256_of(raw_key).short_str(); }

}  // namespace

std::string TrustedKey::key_id() const { return Digest::sha256_of(public_key).str(); }

std::string generate_signing_key(const std::string& path, bool force) {
  const std::string pub = path + ".pub";
  for (const auto& p : {path, pub})
    if (!force && std::filesystem::exists(p)) fail(Errc::exists, "{} exists (use --force to replace it)", p);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                   EVP_PKEY_CTX_free);
  EVP_PKEY* made = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &made) != 1)
    fail(Errc::internal, "OpenSSL could not make an Ed25519 key");
  Key key(made);
  write_new_file(path, pem_of(key.get(), true), 0600, force);
  write_new_file(pub, pem_of(key.get(), false), 0644, force);
  return Digest::sha256_of(raw_public_key(key.get())).str();
}

PackageSignature sign_package_header(const std::string& header_json, const std::string& key_path) {
  Key key = read_pem_key(key_path, true);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  std::size_t n = 64;
  PackageSignature s;
  s.signature.assign(n, '\0');
  if (!md || EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(s.signature.data()), &n,
                     reinterpret_cast<const unsigned char*>(header_json.data()), header_json.size()) != 1 ||
      n != 64)
    fail(Errc::internal, "OpenSSL could not sign with {}", key_path);
  s.public_key = raw_public_key(key.get());
  return s;
}

bool signature_matches(const PackageSignature& signature, const std::string& header_json) {
  Key key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(signature.public_key.data()),
                                      signature.public_key.size()));
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  return md && EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.signature.data()),
                          signature.signature.size(), reinterpret_cast<const unsigned char*>(header_json.data()),
                          header_json.size()) == 1;
}

Trust Trust::load(const std::vector<std::string>& files) {
  Trust t;
  std::vector<std::string> paths = files;
  if (files.empty()) {
    const char* env = std::getenv("DOCKER_DELTA_TRUST_DIR");
    const std::string dir = env != nullptr && *env != '\0' ? env : kDefaultTrustDir;
    t.source_ = dir;
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".pub" && e.is_regular_file()) paths.push_back(e.path().string());
      if (ec) fail(Errc::io, "cannot read the trust directory {}: {}", dir, ec.message());
      std::sort(paths.begin(), paths.end());
    }
  } else {
    t.source_ = "--trust";
  }
  for (const auto& p : paths) t.keys_.push_back({p, raw_public_key(read_pem_key(p, false).get())});
  return t;
}

std::string Trust::check(const PackageHeader& header, const std::string& what) const {
  if (!header.signature) {
    if (configured())
      fail(Errc::integrity, "{} is unsigned, and only signed packages are accepted here (trusted keys from {})", what, source_);
    return "unsigned";
  }
  const PackageSignature& s = *header.signature;
  const TrustedKey* trusted = nullptr;
  for (const auto& k : keys_)
    if (k.public_key == s.public_key) trusted = &k;
  if (configured() && trusted == nullptr)
    fail(Errc::integrity, "{} is signed by key {}, which is not trusted here (trusted keys from {})", what,
         short_id(s.public_key), source_);
  if (!signature_matches(s, header.json))
    fail(Errc::integrity, "{}: its signature does not match its header (damaged or forged): refused", what);
  if (trusted != nullptr) return fmt::format("signed by key {} (trusted: {})", s.key_id(), trusted->path);
  return fmt::format("signed by key {} (no trusted keys configured: not checked against any)", s.key_id());
}

}  // namespace dd
