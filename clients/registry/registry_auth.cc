#include "clients/registry/registry_auth.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"

namespace dd {
namespace {

// "https://host/v1/", "http://host", "host/path" and "host" all name "host".
std::string host_of_key(std::string key) {
  if (const auto scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (const auto slash = key.find('/'); slash != std::string::npos) key.resize(slash);
  return key;
}

bool same_registry(const std::string& key_host, const std::string& host) {
  if (key_host == host) return true;
  const auto is_hub = [](const std::string& h) {
    return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
  };
  return is_hub(key_host) && is_hub(host);
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string bytes = text.str();
  if (bytes.size() > (1u << 20)) fail(Errc::limit, "{} is larger than 1 MiB: not an auth file", path);
  return bytes;
}

}  // namespace

Credentials parse_creds_flag(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0)
    fail(Errc::usage, "--creds needs USER:PASSWORD");
  return {std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)), "--creds"};
}

std::optional<Credentials> credentials_in_auth_file(std::string_view json, const std::string& host, const std::string& path) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail(Errc::bad_input, "{} is not a JSON auth file", path);
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return std::nullopt;
  for (const auto& [key, entry] : auths->items()) {
    if (!same_registry(host_of_key(key), host) || !entry.is_object()) continue;
    const auto auth = entry.find("auth");
    if (auth == entry.end() || !auth->is_string() || auth->get<std::string>().empty()) {
      if (entry.contains("identitytoken") && entry["identitytoken"].is_string())
        return Credentials{"<token>", entry["identitytoken"].get<std::string>(), path};
      continue;
    }
    const auto decoded = base64_decode(auth->get<std::string>());
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) fail(Errc::bad_input, "{}: the auth entry for {} is not base64 of USER:PASSWORD", path, host);
    return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1), path};
  }
  if (doc.contains("credHelpers") || doc.contains("credsStore"))
    log::verbose("{} names credential helpers; they are not run (give --creds or an auths entry)", path);
  return std::nullopt;
}

std::optional<Credentials> find_credentials(const std::string& host) {
  std::vector<std::string> files;
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f != nullptr && *f != '\0') files.emplace_back(f);
  if (const char* r = std::getenv("XDG_RUNTIME_DIR"); r != nullptr && *r != '\0') files.push_back(std::string(r) + "/containers/auth.json");
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') files.push_back(std::string(h) + "/.docker/config.json");
  for (const auto& path : files) {
    const auto text = read_small_file(path);
    if (!text) continue;
    if (auto creds = credentials_in_auth_file(*text, host, path)) {
      log::verbose("credentials for {} from {}", host, path);
      return creds;
    }
  }
  return std::nullopt;
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  const auto space = header.find(' ');
  Challenge c;
  c.scheme = std::string(header.substr(0, space));
  for (auto& ch : c.scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (c.scheme.empty()) return std::nullopt;
  std::string_view rest = space == std::string_view::npos ? std::string_view() : header.substr(space + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    const auto eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(rest.substr(0, eq));
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      while (!rest.empty() && rest.front() != '"') {
        if (rest.front() == '\\' && rest.size() > 1) rest.remove_prefix(1);
        value += rest.front();
        rest.remove_prefix(1);
      }
      if (!rest.empty()) rest.remove_prefix(1);
    } else {
      const auto end = rest.find(',');
      value = std::string(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    c.params[key] = value;
  }
  return c;
}

RegistryAuth::RegistryAuth(HttpClient& http, std::string host, std::optional<Credentials> creds)
    : http_(http), host_(std::move(host)), creds_(std::move(creds)) {}

std::string RegistryAuth::header(const std::string& scope) {
  if (!challenge_) return "";
  if (challenge_->scheme == "basic")
    return creds_ ? "Authorization: Basic " + base64_encode(creds_->user + ":" + creds_->password) : "";
  auto it = tokens_.find(scope);
  if (it == tokens_.end()) it = tokens_.emplace(scope, fetch_token(*challenge_, scope)).first;
  return it->second.empty() ? "" : "Authorization: Bearer " + it->second;
}

bool RegistryAuth::answer(const std::string& www_authenticate, const std::string& scope) {
  auto challenge = parse_challenge(www_authenticate);
  if (!challenge || (challenge->scheme != "bearer" && challenge->scheme != "basic")) return false;
  // Twice for one scope: once when the token is first needed, once more when it expired.
  if (++answered_[scope] > 2) return false;
  if (challenge->scheme == "basic" && !creds_) return false;
  challenge_ = std::move(challenge);
  tokens_.erase(scope);
  return true;
}

std::string RegistryAuth::fetch_token(const Challenge& challenge, const std::string& scope) {
  auto realm = challenge.params.find("realm");
  if (realm == challenge.params.end() || realm->second.empty())
    fail(Errc::bad_input, "registry {} asks for a Bearer token but names no realm", host_);
  const std::string& url = realm->second;
  if (!url.starts_with("https://") && !url.starts_with("http://"))
    fail(Errc::bad_input, "registry {}: the token realm '{}' is not an http(s) URL", host_, printable(url));
  if (url.starts_with("http://") && creds_ && !origin_.starts_with("http://"))
    fail(Errc::bad_input, "registry {}: the token realm {} is plain http; credentials are not sent in clear text", host_,
         printable(url_for_messages(url)));
  std::string query;
  if (auto s = challenge.params.find("service"); s != challenge.params.end()) query += "service=" + url_encode(s->second);
  // Several scopes (a cross-repository mount) are several scope parameters, as docker sends them.
  for (std::size_t start = 0; start < scope.size();) {
    const auto space = scope.find(' ', start);
    const std::string one = scope.substr(start, space == std::string::npos ? std::string::npos : space - start);
    if (!one.empty()) query += std::string(query.empty() ? "" : "&") + "scope=" + url_encode(one);
    start = space == std::string::npos ? scope.size() : space + 1;
  }
  std::vector<std::string> headers;
  if (creds_ && creds_->user != "<token>")
    headers.push_back("Authorization: Basic " + base64_encode(creds_->user + ":" + creds_->password));
  const std::string full = url + (query.empty() ? "" : (url.find('?') == std::string::npos ? "?" : "&") + query);
  const std::string what = fmt::format("token for {} from {}", host_, url_for_messages(url));
  const HttpResponse response = http_.request("GET", full, headers, {}, 1u << 20, what);
  if (response.status == 401 || response.status == 403)
    fail(Errc::denied, "{}: the registry refused {} (HTTP {})", what,
         creds_ ? "the credentials from " + creds_->source : "anonymous access", response.status);
  if (response.status != 200) fail(Errc::io, "{}: HTTP {}", what, response.status);
  const nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail(Errc::bad_input, "{}: the answer is not JSON", what);
  for (const char* key : {"token", "access_token"})
    if (auto it = doc.find(key); it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
      const std::string token = it->get<std::string>();
      if (token.size() > 65536 || token.find_first_of("\r\n") != std::string::npos)
        fail(Errc::bad_input, "{}: the token is malformed", what);
      log::verbose("token for {} scope {}", host_, scope);
      return token;
    }
  fail(Errc::bad_input, "{}: the answer has no token", what);
}

}  // namespace dd
