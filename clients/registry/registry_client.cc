#include "clients/registry/registry_client.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "pipeline/image_model.h"

namespace dd {
namespace {

constexpr int kAttempts = 5;  // one request, four retries: 0.5, 1, 2, 4 s apart

const char* kAccept =
    "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

// The TLS files for `host`: --cert-dir, else the containers-certs.d directories per host.
TlsSettings tls_settings(const RegistryOptions& options, const std::string& host) {
  TlsSettings tls;
  tls.verify = options.tls_verify;
  std::vector<std::string> dirs;
  if (!options.cert_dir.empty()) dirs.push_back(options.cert_dir);
  else dirs = {"/etc/containers/certs.d/" + host, "/etc/docker/certs.d/" + host};
  namespace fs = std::filesystem;
  for (const auto& dir : dirs) {
    std::error_code error;
    if (!fs::is_directory(dir, error)) {
      if (!options.cert_dir.empty()) fail(Errc::not_found, "--cert-dir {} is not a directory", dir);
      continue;
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir, error)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (name.ends_with(".crt") && (tls.ca_file.empty() || name == "ca.crt")) tls.ca_file = dir + "/" + name;
      if (name.ends_with(".cert") && tls.client_cert.empty()) {
        const std::string key = name.substr(0, name.size() - 5) + ".key";
        if (std::find(names.begin(), names.end(), key) == names.end())
          fail(Errc::not_found, "{}/{} has no key beside it ({})", dir, name, key);
        tls.client_cert = dir + "/" + name;
        tls.client_key = dir + "/" + key;
      }
    }
    log::verbose("TLS files for {} from {}", host, dir);
    break;
  }
  return tls;
}

std::string percent_encode_digest(const std::string& digest) {
  std::string out;
  for (char c : digest) out += c == ':' ? std::string("%3A") : std::string(1, c);
  return out;
}

bool is_retryable_status(long status) { return status == 429 || status == 502 || status == 503 || status == 504 || status == 500; }

void back_off(int attempt, const HttpResponse& response) {
  double seconds = 0.5 * (1 << attempt);
  if (const std::string after = response.header("retry-after"); !after.empty() && std::all_of(after.begin(), after.end(), ::isdigit))
    seconds = std::min(10.0, std::max(seconds, std::stod(after)));
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
}

}  // namespace

std::string registry_error_text(const HttpResponse& response) {
  const nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  std::string text;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string one = e.value("code", std::string());
      const std::string message = e.value("message", std::string());
      if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
      if (!one.empty()) text += (text.empty() ? "" : "; ") + one;
      if (text.size() > 300) break;
    }
  }
  if (text.empty()) {
    std::string body = response.body.substr(0, 120);
    std::replace(body.begin(), body.end(), '\n', ' ');
    text = body.empty() ? "no details" : printable(body);
  }
  return fmt::format("HTTP {} {}", response.status, printable(text.substr(0, 400)));
}

RegistryClient::RegistryClient(RegistryReference ref, const RegistryOptions& options, bool push)
    : ref_(std::move(ref)), scope_("repository:" + ref_.repository + (push ? ":pull,push" : ":pull")) {
  http_ = std::make_unique<HttpClient>(tls_settings(options, ref_.host));
  creds_ = options.creds.empty() ? find_credentials(ref_.host) : std::optional<Credentials>(parse_creds_flag(options.creds));
  auth_ = std::make_unique<RegistryAuth>(*http_, ref_.host, creds_);
  plain_http_allowed_ = !options.tls_verify || ref_.is_loopback();
}

RegistryClient::~RegistryClient() = default;

// The version check (GET /v2/) settles the scheme and brings the first challenge.
void RegistryClient::connect() {
  if (!base_.empty()) return;
  const std::string host = ref_.api_host();
  const std::string what = fmt::format("{}: GET /v2/", describe());
  TransportFailure failure;
  HttpResponse response = http_->request("GET", "https://" + host + "/v2/", {}, {}, 1u << 20, what, &failure);
  base_ = "https://" + host;
  if (response.status == 0 && is_not_tls(failure) && plain_http_allowed_) {
    log::verbose("{} does not speak TLS; using plain HTTP", describe());
    base_ = "http://" + host;
    response = http_->request("GET", base_ + "/v2/", {}, {}, 1u << 20, what, &failure);
  }
  if (response.status == 0) {
    if (is_not_tls(failure))
      fail(Errc::io, "{} does not speak TLS ({}); plain HTTP needs --tls-verify=false", describe(), failure.message);
    fail(Errc::io, "{}: {}", what, failure.message);
  }
  if (response.status == 401) auth_->answer(response.header("www-authenticate"), scope_);
  else if (response.status != 200) refused(response, what);
}

std::string RegistryClient::absolute(const std::string& location) const {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) return base_ + location;
  fail(Errc::bad_input, "{} gave an upload location that is not a URL: {}", describe(), printable(location.substr(0, 100)));
}

std::vector<std::string> RegistryClient::with_auth(std::vector<std::string> headers, const std::string& scope) {
  if (std::string h = auth_->header(scope.empty() ? scope_ : scope); !h.empty()) headers.push_back(std::move(h));
  return headers;
}

HttpResponse RegistryClient::call(const std::string& method, const std::string& path_or_url, std::vector<std::string> headers,
                                  std::string_view body, std::size_t max_body, const std::string& what,
                                  const std::string& scope_override) {
  connect();
  const std::string& scope = scope_override.empty() ? scope_ : scope_override;
  const std::string target = path_or_url.starts_with("/") ? url(path_or_url) : path_or_url;
  for (int attempt = 0;; ++attempt) {
    TransportFailure failure;
    HttpResponse response = http_->request(method, target, with_auth(headers, scope), body, max_body, what, &failure);
    if (response.status == 0) {
      if (attempt + 1 < kAttempts && is_transient(failure)) {
        log::verbose("{}: {}; trying again", what, failure.message);
        back_off(attempt, response);
        continue;
      }
      fail(Errc::io, "{}: {}", what, failure.message);
    }
    if (response.status == 401 && auth_->answer(response.header("www-authenticate"), scope)) continue;
    if (is_retryable_status(response.status) && attempt + 1 < kAttempts) {
      log::verbose("{}: HTTP {}; trying again", what, response.status);
      back_off(attempt, response);
      continue;
    }
    return response;
  }
}

void RegistryClient::refused(const HttpResponse& response, const std::string& what) const {
  const std::string text = registry_error_text(response);
  if (response.status == 401 || response.status == 403)
    fail(Errc::denied, "{}: {} (credentials: {})", what, text, creds_ ? creds_->source : "none; give --creds or log in");
  if (response.status == 404) fail(Errc::not_found, "{}: {}", what, text);
  fail(Errc::io, "{}: {}", what, text);
}

RegistryManifest RegistryClient::get_manifest(const std::string& reference, std::size_t max_bytes) {
  const std::string what = fmt::format("{}: manifest {}:{}", describe(), ref_.repository, reference);
  const HttpResponse response =
      call("GET", "/v2/" + ref_.repository + "/manifests/" + reference, {kAccept}, {}, max_bytes, what);
  if (response.status != 200) refused(response, what);
  RegistryManifest m;
  m.bytes = response.body;
  m.media_type = response.header("content-type");
  if (const auto semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  const nlohmann::json doc = nlohmann::json::parse(m.bytes, nullptr, false);
  if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string() &&
      (m.media_type.empty() || m.media_type == "application/json" || m.media_type == "text/plain"))
    m.media_type = doc["mediaType"].get<std::string>();
  if (m.media_type.find("distribution.manifest.v1") != std::string::npos || (doc.is_object() && doc.value("schemaVersion", 0) == 1))
    fail(Errc::unsupported, "{} is a Docker schema 1 manifest, which docker_delta does not read (push the image again with "
         "a current docker or skopeo to get schema 2)", what);
  m.digest = Digest::sha256_of(m.bytes);
  if (reference.starts_with("sha") && reference.find(':') != std::string::npos && Digest::parse(reference, what) != m.digest)
    fail(Errc::integrity, "{}: the registry served bytes whose digest is {}", what, m.digest.str());
  if (const std::string said = response.header("docker-content-digest"); !said.empty() && said.starts_with("sha256:") &&
                                                                          said != m.digest.str())
    fail(Errc::integrity, "{}: the registry says its digest is {}, but its bytes hash to {}", what, printable(said), m.digest.str());
  return m;
}

std::optional<std::uint64_t> RegistryClient::blob_size(const Digest& digest) {
  const std::string what = fmt::format("{}: blob {}", describe(), digest.short_str());
  const HttpResponse response = call("HEAD", "/v2/" + ref_.repository + "/blobs/" + digest.str(), {}, {}, 0, what);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) refused(response, what);
  const std::string length = response.header("content-length");
  if (length.empty() || !std::all_of(length.begin(), length.end(), ::isdigit) || length.size() > 19)
    fail(Errc::bad_input, "{}: the registry gives no size", what);
  return std::stoull(length);
}

std::unique_ptr<ByteStream> RegistryClient::open_blob(const Digest& digest, std::uint64_t size) {
  connect();
  const std::string what = fmt::format("{}: blob {}", describe(), digest.short_str());
  for (int attempt = 0;; ++attempt) {
    HttpResponse refusal;
    auto stream = http_->open_stream(url("/v2/" + ref_.repository + "/blobs/" + digest.str()), with_auth({}, scope_), size, what, refusal);
    if (stream) return stream;
    if (refusal.status == 401 && auth_->answer(refusal.header("www-authenticate"), scope_)) continue;
    if (is_retryable_status(refusal.status) && attempt + 1 < kAttempts) {
      back_off(attempt, refusal);
      continue;
    }
    refused(refusal, what);
  }
}

std::string RegistryClient::blob_prefix(const Digest& digest, std::size_t n) {
  const std::string what = fmt::format("{}: start of blob {}", describe(), digest.short_str());
  HttpResponse response;
  try {
    response = call("GET", "/v2/" + ref_.repository + "/blobs/" + digest.str(),
                    {fmt::format("Range: bytes=0-{}", n - 1)}, {}, n, what);
  } catch (const Error& e) {
    if (e.code() != Errc::limit) throw;
    // It ignored Range and sent the whole blob: read the start as a stream instead.
    auto stream = open_blob(digest, *blob_size(digest));
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
      const std::size_t r = stream->read(out.data() + got, n - got);
      if (r == 0) break;
      got += r;
    }
    out.resize(got);
    return out;
  }
  if (response.status != 206 && response.status != 200) refused(response, what);
  return response.body.substr(0, n);
}

void RegistryClient::push_blob(const Digest& digest, std::uint64_t size, ByteStream& source,
                               const std::function<void()>& before_commit) {
  const std::string what = fmt::format("{}: uploading blob {}", describe(), digest.short_str());
  HttpResponse response = call("POST", "/v2/" + ref_.repository + "/blobs/uploads/", {}, {}, 1u << 16, what);
  if (response.status != 202) refused(response, what);
  std::string location = absolute(response.header("location"));
  const auto with_digest = [&](const std::string& loc) {
    return loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + percent_encode_digest(digest.str());
  };
  if (size <= kMonolithicMax && !before_commit) {
    response = http_->upload("PUT", with_digest(location), with_auth({"Content-Type: application/octet-stream"}, scope_), source, size, what);
  } else {
    std::uint64_t sent = 0;
    while (sent < size) {
      const std::uint64_t chunk = std::min<std::uint64_t>(kChunk, size - sent);
      response = http_->upload("PATCH", location,
                               with_auth({"Content-Type: application/octet-stream",
                                          fmt::format("Content-Range: {}-{}", sent, sent + chunk - 1)},
                                         scope_),
                               source, chunk, what);
      if (response.status != 202) refused(response, what);
      location = absolute(response.header("location"));
      sent += chunk;
    }
    if (before_commit) before_commit();
    response = call("PUT", with_digest(location), {"Content-Type: application/octet-stream"}, {}, 1u << 16, what);
  }
  if (response.status != 201) refused(response, what);
}

bool RegistryClient::mount_blob(const Digest& digest, const std::string& from_repository) {
  const std::string what = fmt::format("{}: mounting blob {} from {}", describe(), digest.short_str(), from_repository);
  const std::string scope = scope_ + " repository:" + from_repository + ":pull";
  const HttpResponse response = call("POST",
                                     "/v2/" + ref_.repository + "/blobs/uploads/?mount=" + percent_encode_digest(digest.str()) +
                                         "&from=" + from_repository,
                                     {}, {}, 1u << 16, what, scope);
  if (response.status == 201) return true;
  if (response.status == 202) {
    // It started an upload instead: end it, so no session is left open.
    if (const std::string location = response.header("location"); !location.empty())
      call("DELETE", absolute(location), {}, {}, 1u << 16, what);
    return false;
  }
  if (response.status == 404) return false;
  refused(response, what);
}

Digest RegistryClient::put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes) {
  const std::string what = fmt::format("{}: putting manifest {}:{}", describe(), ref_.repository, reference);
  const HttpResponse response =
      call("PUT", "/v2/" + ref_.repository + "/manifests/" + reference, {"Content-Type: " + media_type}, bytes, 1u << 16, what);
  if (response.status != 201 && response.status != 200) refused(response, what);
  return Digest::sha256_of(bytes);
}

std::vector<std::string> RegistryClient::tags(std::size_t limit) {
  const std::string what = fmt::format("{}: tags of {}", describe(), ref_.repository);
  const HttpResponse response = call("GET", "/v2/" + ref_.repository + "/tags/list?n=" + std::to_string(limit), {}, {}, 8u << 20, what);
  if (response.status != 200) refused(response, what);
  const nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  std::vector<std::string> out;
  if (!doc.is_object() || !doc.contains("tags")) fail(Errc::bad_input, "{}: the answer is not a tag list", what);
  if (doc["tags"].is_null()) return out;
  if (!doc["tags"].is_array()) fail(Errc::bad_input, "{}: the answer is not a tag list", what);
  for (const auto& t : doc["tags"])
    if (t.is_string() && out.size() < limit) out.push_back(t.get<std::string>());
  return out;
}

}  // namespace dd
