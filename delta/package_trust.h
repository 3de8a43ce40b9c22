// Who made a package: Ed25519 keys (OpenSSL), the signature `create --sign` puts on a package's
// header, and the keys a receiver trusts (`--trust PUBKEY`, else every *.pub in
// $DOCKER_DELTA_TRUST_DIR, default /etc/docker_delta/trust.d).
#pragma once

#include <string>
#include <vector>

#include "delta/delta_package.h"

namespace dd {

inline constexpr const char* kDefaultTrustDir = "/etc/docker_delta/trust.d";

// Writes a new key pair: `path` (PKCS#8 PEM, mode 0600) and `path`.pub (SubjectPublicKeyInfo
// PEM). Errc::exists if either exists and !force. Returns the key id.
std::string generate_signing_key(const std::string& path, bool force);

// Signs `header_json` with the private key in `key_path`.
PackageSignature sign_package_header(const std::string& header_json, const std::string& key_path);

struct TrustedKey {
  std::string path;
  std::string public_key;  // raw
  std::string key_id() const;
};

class Trust {
 public:
  // `files` given: exactly those keys. None: every *.pub of $DOCKER_DELTA_TRUST_DIR (or the
  // default directory); a directory that does not exist means no trust is configured.
  static Trust load(const std::vector<std::string>& files);
  bool configured() const { return !keys_.empty(); }
  const std::vector<TrustedKey>& keys() const { return keys_; }
  std::string source() const { return source_; }

  // With trust configured: refuses (Errc::integrity, one line naming why) an unsigned package,
  // one signed by a key not trusted, or a signature that does not match the header. Without:
  // a signature that is present must still match. Returns what `info` says: "unsigned",
  // "signed by KEY (trusted: PATH)", "signed by KEY (not checked against any trust)".
  std::string check(const PackageHeader& header, const std::string& what) const;

 private:
  std::vector<TrustedKey> keys_;
  std::string source_;  // where the keys came from, for messages
};

// Does `signature` sign `header_json`? (The key inside the signature block.)
bool signature_matches(const PackageSignature& signature, const std::string& header_json);

}  // namespace dd
