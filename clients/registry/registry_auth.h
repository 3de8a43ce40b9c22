// Who we are to a registry, and the Authorization header that proves it: the WWW-Authenticate
// challenge of the distribution spec, Bearer (a token from the realm, for a scope, anonymous
// without credentials) or Basic. Credentials come from --creds, else from the auth files docker
// and podman write; they appear in no message, log line or --json output.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "clients/registry/http_client.h"

namespace dd {

struct Credentials {
  std::string user;
  std::string password;  // or an identity token when user is "<token>"
  std::string source;    // where they came from, for messages: "--creds", a file's path
};

// "USER:PASS" as --creds gives it. Errc::usage when the password is missing.
Credentials parse_creds_flag(std::string_view text);

// The entry for `host` in the first auth file that has one: $REGISTRY_AUTH_FILE, then
// $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json ("auths" entries with a
// base64 "auth" of USER:PASS, keyed by host or by URL). Credential helpers (credsStore,
// credHelpers) are not run: an entry that only names a helper is skipped, and said so.
std::optional<Credentials> find_credentials(const std::string& host);

// The same from one file's text (for tests and the lookup above).
std::optional<Credentials> credentials_in_auth_file(std::string_view json, const std::string& host, const std::string& path);

struct Challenge {
  std::string scheme;                         // "bearer" or "basic", lower case
  std::map<std::string, std::string> params;  // realm, service, scope, error
};
// Parses a WWW-Authenticate value: `Bearer realm="...",service="...",scope="..."`.
std::optional<Challenge> parse_challenge(std::string_view header);

class RegistryAuth {
 public:
  RegistryAuth(HttpClient& http, std::string host, std::optional<Credentials> creds);

  // The header for a request in `scope` ("repository:team/app:pull,push"); empty before any
  // challenge, or when the registry asked for none.
  std::string header(const std::string& scope);
  // Takes a 401's challenge: fetches a token for `scope` (or sets Basic). False when asking again
  // cannot help (the same credentials were refused already).
  bool answer(const std::string& www_authenticate, const std::string& scope);
  // A request in `scope` succeeded: a later expiry may be answered again.
  void succeeded(const std::string& scope) { answered_.erase(scope); }
  // Where the registry's API is ("https://host"): a token realm on plain http is refused unless
  // the registry itself is on plain http, since credentials would cross in clear text.
  void set_origin(std::string origin) { origin_ = std::move(origin); }

 private:
  std::string fetch_token(const Challenge& challenge, const std::string& scope);

  HttpClient& http_;
  std::string host_;
  std::optional<Credentials> creds_;
  std::optional<Challenge> challenge_;
  std::map<std::string, std::string> tokens_;  // scope -> token
  std::map<std::string, int> answered_;        // scope -> challenges answered since the last success
  std::string origin_;
};

}  // namespace dd
