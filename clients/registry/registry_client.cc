#include "clients/registry/registry_client.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/interruption.h"
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

bool all_digits(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

bool is_retryable_status(long status) { return status == 429 || status == 502 || status == 503 || status == 504 || status == 500; }

void back_off(int attempt, const HttpResponse& response) {
  double seconds = 0.5 * (1 << attempt);
  if (const std::string after = response.header("retry-after"); !after.empty() && after.size() <= 4 && all_digits(after))
    seconds = std::min(10.0, std::max(seconds, static_cast<double>(std::stoi(after))));
  // In short sleeps, so that Ctrl-C is not kept waiting.
  for (int slept = 0; slept < static_cast<int>(seconds * 1000); slept += 100) {
    throw_if_interrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

std::string registry_error_text(const HttpResponse& response) {
  const nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  std::string text;
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    // Fields of another type than the spec's strings are left out, not trusted to convert.
    auto text_of = [](const nlohmann::json& e, const char* key) {
      return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
    };
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string one = text_of(e, "code");
      const std::string message = text_of(e, "message");
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
  std::string base = "https://" + host;
  HttpResponse response = http_->request("GET", base + "/v2/", {}, {}, 1u << 20, what, &failure);
  if (response.status == 0 && is_not_tls(failure) && plain_http_allowed_) {
    log::verbose("{} does not speak TLS; using plain HTTP", describe());
    base = "http://" + host;
    response = http_->request("GET", base + "/v2/", {}, {}, 1u << 20, what, &failure);
  }
  if (response.status == 0) {
    if (is_not_tls(failure))
      fail(Errc::io, "{} does not speak TLS ({}); plain HTTP needs --tls-verify=false", describe(), failure.message);
    fail(Errc::io, "{}: {}", what, failure.message);
  }
  if (response.status != 401 && response.status != 200) refused(response, what);
  base_ = base;  // only now: a failed check is made again by the next call
  auth_->set_origin(base_);
  if (response.status == 401) auth_->answer(response.header("www-authenticate"), scope_);
}

bool RegistryClient::same_origin(const std::string& url) const {
  return url.rfind(base_ + "/", 0) == 0 || url == base_;
}

std::string RegistryClient::absolute(const std::string& location) const {
  if (location.starts_with("http://") && base_.starts_with("https://"))
    fail(Errc::bad_input, "{} sent an upload location on plain http: {}", describe(), printable(url_for_messages(location).substr(0, 100)));
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) return base_ + location;
  fail(Errc::bad_input, "{} gave an upload location that is not a URL: {}", describe(), printable(location.substr(0, 100)));
}

std::vector<std::string> RegistryClient::with_auth(std::vector<std::string> headers, const std::string& scope,
                                                  const std::string& url) {
  // Credentials and tokens go to the registry itself only, never to a host a Location names.
  if (!url.empty() && !same_origin(url)) return headers;
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
    HttpResponse response = http_->request(method, target, with_auth(headers, scope, target), body, max_body, what, &failure);
    if (response.status == 0) {
      if (attempt + 1 < kAttempts && is_transient(failure)) {
        log::verbose("{}: {}; trying again", what, failure.message);
        back_off(attempt, response);
        continue;
      }
      fail(Errc::io, "{}: {}", what, failure.message);
    }
    if (response.status == 401 && auth_->answer(response.header("www-authenticate"), scope)) continue;
    if (response.status != 401) auth_->succeeded(scope);
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
  if (m.media_type.find("distribution.manifest.v1") != std::string::npos || (doc.is_object() && doc.contains("schemaVersion") && doc["schemaVersion"] == 1))
    fail(Errc::unsupported, "{} is a Docker schema 1 manifest, which docker_delta does not read (push the image again with "
         "a current docker or skopeo to get schema 2)", what);
  m.digest = Digest::sha256_of(m.bytes);
  if (reference.starts_with("sha") && reference.find(':') != std::string::npos && !reference.starts_with("sha256:"))
    fail(Errc::unsupported, "{}: only sha256 manifest digests are checked here", what);
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
  if (length.empty() || !all_digits(length) || length.size() > 18)
    fail(Errc::bad_input, "{}: the registry gives no size", what);
  return std::stoull(length);
}

std::unique_ptr<ByteStream> RegistryClient::open_blob(const Digest& digest, std::uint64_t size) {
  connect();
  const std::string what = fmt::format("{}: blob {}", describe(), digest.short_str());
  for (int attempt = 0;; ++attempt) {
    HttpResponse refusal;
    auto stream = http_->open_stream(url("/v2/" + ref_.repository + "/blobs/" + digest.str()),
                                     [this] { return with_auth({}, scope_, base_); }, size, what, refusal);
    if (stream) {
      auth_->succeeded(scope_);
      return stream;
    }
    if (refusal.status == 401 && auth_->answer(refusal.header("www-authenticate"), scope_)) continue;
    if (is_retryable_status(refusal.status) && attempt + 1 < kAttempts) {
      back_off(attempt, refusal);
      continue;
    }
    refused(refusal, what);
  }
}

std::string RegistryClient::blob_prefix(const Digest& digest, std::size_t n) {
  if (n == 0) return {};
  const std::string what = fmt::format("{}: start of blob {}", describe(), digest.short_str());
  HttpResponse response;
  try {
    response = call("GET", "/v2/" + ref_.repository + "/blobs/" + digest.str(),
                    {fmt::format("Range: bytes=0-{}", n - 1)}, {}, n, what);
  } catch (const Error& e) {
    if (e.code() != Errc::limit) throw;
    // It ignored Range and sent the whole blob: read the start as a stream instead.
    const auto size = blob_size(digest);
    if (!size) fail(Errc::not_found, "{}: the registry no longer has it", what);
    return read_prefix(*open_blob(digest, *size), n);
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
    response = http_->upload("PUT", with_digest(location),
                             with_auth({"Content-Type: application/octet-stream"}, scope_, location), source, size, what);
  } else {
    std::uint64_t sent = 0;
    while (sent < size) {
      const std::uint64_t chunk = std::min<std::uint64_t>(kChunk, size - sent);
      response = http_->upload("PATCH", location,
                               with_auth({"Content-Type: application/octet-stream",
                                          fmt::format("Content-Range: {}-{}", sent, sent + chunk - 1)},
                                         scope_, location),
                               source, chunk, what);
      if (response.status != 202) refused(response, what);
      location = absolute(response.header("location"));
      sent += chunk;
    }
    if (before_commit) before_commit();
    try {
      response = call("PUT", with_digest(location), {"Content-Type: application/octet-stream"}, {}, 1u << 16, what);
    } catch (const Error& e) {
      // The closing PUT may have landed before the connection broke (a slow move in storage).
      if (e.code() != Errc::io) throw;
      if (const auto landed = blob_size(digest); landed && *landed == size) return;
      throw;
    }
  }
  if (response.status == 201) return;
  if (const auto landed = blob_size(digest); landed && *landed == size) return;  // a retried commit that had landed
  refused(response, what);
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
  static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");
  for (const auto& t : doc["tags"]) {
    if (!t.is_string() || out.size() >= limit) continue;
    const std::string tag = t.get<std::string>();
    if (std::regex_match(tag, kTag)) out.push_back(tag);  // anything else is not a tag: it is left out
    else log::verbose("{}: '{}' is not a valid tag; left out", what, printable(tag.substr(0, 100)));
  }
  return out;
}

}  // namespace dd
