// One repository of a registry over the OCI distribution API: manifests by tag or digest, blobs
// streamed out and in, tags. Settles the scheme (https; plain HTTP only on a loopback host or
// with --tls-verify=false), answers auth challenges, retries 429, 5xx and cut connections a few
// times with backoff, and reports a registry's error JSON in one line.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clients/registry/http_client.h"
#include "clients/registry/registry_auth.h"
#include "clients/registry/registry_reference.h"
#include "core/byte_stream.h"
#include "core/digest.h"
#include "pipeline/run_context.h"

namespace dd {

struct RegistryManifest {
  std::string bytes;       // exactly as served
  std::string media_type;  // the Content-Type, else the document's mediaType
  Digest digest;           // sha256 of bytes, checked against the reference and the registry's header
};

class RegistryClient {
 public:
  // `push`: the token asked for may write. Nothing is sent until the first call.
  RegistryClient(RegistryReference ref, const RegistryOptions& options, bool push);
  ~RegistryClient();

  const RegistryReference& reference() const { return ref_; }
  // "registry 127.0.0.1:5000" for messages.
  std::string describe() const { return "registry " + ref_.host; }

  // The manifest or index `reference` (a tag or digest) names, at most `max_bytes`. Schema 1
  // manifests are refused. Errc::not_found when the repository or the reference is unknown.
  RegistryManifest get_manifest(const std::string& reference, std::size_t max_bytes);
  // The size of the blob when the repository has it.
  std::optional<std::uint64_t> blob_size(const Digest& digest);
  // The blob's bytes, `size` of them, streamed (a cut connection resumes with Range). The caller
  // checks the digest as it reads.
  std::unique_ptr<ByteStream> open_blob(const Digest& digest, std::uint64_t size);
  // The first `n` bytes of the blob (a Range request; fewer when the blob is shorter).
  std::string blob_prefix(const Digest& digest, std::size_t n);
  // Uploads `size` bytes of `source` as the blob `digest` (the registry checks it too): one PUT
  // when small, else PATCH chunks of kChunk bytes and a closing PUT. With `before_commit`, always
  // the latter, and it runs between the last chunk and the closing PUT: a stream that checks
  // itself at its end (a layer body) is checked before the registry accepts the blob.
  void push_blob(const Digest& digest, std::uint64_t size, ByteStream& source,
                 const std::function<void()>& before_commit = {});
  // Mounts the blob from another repository of this registry (cross-repository mount): true when
  // the registry did, false when it does not hold it there (or does not mount).
  bool mount_blob(const Digest& digest, const std::string& from_repository);
  // Puts a manifest (or index) under `reference`; returns its digest.
  Digest put_manifest(const std::string& reference, const std::string& media_type, const std::string& bytes);
  // The repository's tags (at most `limit`).
  std::vector<std::string> tags(std::size_t limit);

  static constexpr std::uint64_t kMonolithicMax = 8u << 20;
  static constexpr std::uint64_t kChunk = 64u << 20;

 private:
  void connect();
  std::string url(const std::string& path) const { return base_ + path; }
  std::string absolute(const std::string& location) const;
  // `headers` with the Authorization for `scope`, unless `url` (when given) leaves the registry.
  std::vector<std::string> with_auth(std::vector<std::string> headers, const std::string& scope, const std::string& url = "");
  bool same_origin(const std::string& url) const;
  // A request with auth (for `scope`; empty: this client's), retries and backoff.
  HttpResponse call(const std::string& method, const std::string& path_or_url, std::vector<std::string> headers,
                    std::string_view body, std::size_t max_body, const std::string& what, const std::string& scope = "");
  [[noreturn]] void refused(const HttpResponse& response, const std::string& what) const;

  RegistryReference ref_;
  std::string scope_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<RegistryAuth> auth_;
  std::optional<Credentials> creds_;
  std::string base_;  // "https://host"; set by connect()
  bool plain_http_allowed_ = false;
};

// A registry's answer that is not what was asked for, as "CODE: message" from its error JSON
// (the distribution spec's {"errors": [...]}), else the status and the start of the body.
std::string registry_error_text(const HttpResponse& response);

}  // namespace dd
