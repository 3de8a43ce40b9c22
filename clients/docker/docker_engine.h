// A client for the Docker Engine API (also podman's Docker-compatible service): HTTP/1.1 over
// the daemon's unix socket (or tcp://), one connection per request, bodies streamed both ways.
// The API version is negotiated with /_ping; the daemon's own error message reaches the user.
// Whatever answers on the socket is untrusted: JSON answers are bounded in size and depth before
// they are parsed, connecting times out after 10 s, and a daemon silent for
// $DOCKER_DELTA_DAEMON_TIMEOUT seconds (300 by default) ends the run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/limits.h"

namespace dd {

class DockerEngine {
 public:
  using Sink = std::function<void(const char*, std::size_t)>;
  // --host if given, else $DOCKER_HOST, else the docker CLI's current context
  // (docker_context.h), else unix:///var/run/docker.sock.
  static std::string resolve_host(const std::string& flag);
  // Connects lazily; `host` is unix:///PATH or tcp://HOST:PORT.
  explicit DockerEngine(std::string host, Limits limits = {});

  const std::string& host() const { return host_; }
  // GET and parse a small JSON answer (at most `max_bytes`, 0: the limits' max_json_bytes). 404
  // is Errc::not_found with the daemon's message. Paths hold names only through url_path().
  nlohmann::json get_json(const std::string& path, std::size_t max_bytes = 0);
  // GET and pass the body on block by block.
  void get_stream(const std::string& path, const Sink& sink);
  // POST a body written by `produce` (sent chunked, as it is produced); returns the answer.
  std::string post_stream(const std::string& path, const std::string& content_type,
                          const std::function<void(const Sink&)>& produce);
  // POST with no body; returns the answer.
  std::string post(const std::string& path);

 private:
  std::string versioned(const std::string& path);
  std::string host_;
  Limits limits_;
  std::string version_prefix_;  // "/v1.41" once negotiated
};

// A daemon's message as one line: line breaks (podman lists one reason per line) become spaces,
// trailing ones go, and a very long message is cut.
std::string one_line_message(std::string message);

// Percent-encodes each '/'-separated segment of a name for a request path ("team/app:v1" ->
// "team/app%3Av1"): nothing in a name can end the request line or add a header.
std::string url_path(const std::string& value);

// Percent-encodes a value for a query string.
std::string url_encode(const std::string& value);

}  // namespace dd
