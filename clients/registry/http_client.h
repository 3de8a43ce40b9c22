// HTTP/1.1 and HTTP/2 requests with libcurl, for the registry client: small requests whose
// bodies are held in memory (capped), a GET whose body streams (libcurl is driven only when the
// reader has taken what it gave, so memory stays at a few MiB whatever the blob's size; resumed
// with Range when the connection is cut), and uploads that stream from a ByteStream. Every
// transfer ends at the next progress call after Ctrl-C.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"

namespace dd {

struct TlsSettings {
  bool verify = true;       // --tls-verify=false turns certificate and host checks off
  std::string ca_file;      // a CA bundle besides the system's (certs.d ca.crt); empty: system only
  std::string client_cert;  // client.cert / client.key for mutual TLS; empty: none
  std::string client_key;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; the final response's only
  std::string body;
  std::string header(const std::string& lower_name) const;
};

// A libcurl failure below HTTP (connection refused, TLS, reset), as one line naming the URL.
struct TransportFailure {
  int curl_code = 0;
  std::string message;
};

class HttpClient {
 public:
  explicit HttpClient(TlsSettings tls);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A request whose response body is kept up to `max_body` bytes (more is Errc::limit). `headers`
  // are "Name: value" lines. Redirects are followed (at most 8); credentials in `headers` are not
  // sent to another host. A transport failure throws Errc::io naming `what`, or, given `failure`,
  // is put there (status 0) for the caller to retry or probe another scheme.
  HttpResponse request(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                       std::string_view body, std::size_t max_body, const std::string& what,
                       TransportFailure* failure = nullptr);

  // Uploads `length` bytes read from `source` as the body (Content-Length set); the response body
  // is capped like request()'s.
  HttpResponse upload(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                      ByteStream& source, std::uint64_t length, const std::string& what);

  // A GET whose body is read as a stream of exactly `length` bytes. Opening it waits for the
  // response headers: a status other than 200 is returned in `refused` (status and capped body)
  // with a null stream, so the caller can authenticate and try again. `headers` is asked again
  // for each request a resumption makes, so a renewed token goes with it.
  std::unique_ptr<ByteStream> open_stream(const std::string& url, std::function<std::vector<std::string>()> headers,
                                          std::uint64_t length, const std::string& what, HttpResponse& refused);

  const TlsSettings& tls() const { return tls_; }

 private:
  TlsSettings tls_;
};

// A cut or reset connection, worth one more try; not a refused connection or a TLS failure.
bool is_transient(const TransportFailure& failure);
// The server does not speak TLS at all (a plain-HTTP registry asked over https).
bool is_not_tls(const TransportFailure& failure);

// "https://host/path?query" without what could identify a user: the query (upload state, signed
// storage URLs) is dropped, for messages.
std::string url_for_messages(const std::string& url);

}  // namespace dd
