// Content digests ("sha256:<hex>") and the hasher that computes them while bytes stream past.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace dd {

class Digest {
 public:
  Digest() = default;
  // Parses "algorithm:hex". Only sha256 and sha512 are accepted, with lowercase hex of the exact
  // length; anything else is Errc::bad_input naming `what` (e.g. "layer 2 digest").
  static Digest parse(std::string_view text, std::string_view what = "digest");
  static Digest sha256_of(std::string_view bytes);
  static Digest from_sha256_hex(std::string_view hex) { return parse(std::string("sha256:").append(hex)); }
  // From the digest's bytes (32 for sha256, 64 for sha512), as binary formats store it.
  static Digest from_raw(std::string_view algorithm, std::string_view raw);

  const std::string& algorithm() const { return algorithm_; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return empty() ? std::string() : algorithm_ + ":" + hex_; }
  std::string short_str() const { return algorithm_ + ":" + hex_.substr(0, 12); }
  bool empty() const { return hex_.empty(); }
  std::string raw() const;  // the digest's bytes

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string algorithm_;
  std::string hex_;
};

// Incremental hash for one algorithm (OpenSSL EVP, which uses the CPU's SHA extensions).
class Hasher {
 public:
  explicit Hasher(std::string_view algorithm = "sha256");
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(const void* data, std::size_t size);
  // Ends the hash; the hasher may not be updated afterwards.
  Digest finish();
  std::uint64_t bytes() const { return bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string algorithm_;
  std::uint64_t bytes_ = 0;
};

}  // namespace dd
