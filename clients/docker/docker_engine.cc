#include "clients/docker/docker_engine.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <exception>
#include <cstdlib>
#include <limits>
#include <variant>

#include "clients/docker/docker_context.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/printable.h"
#include "formats/image/manifest_parser.h"

namespace dd {
namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace {

// The newest API version we speak; older daemons get their own, down to 1.25 (Docker 1.13).
constexpr int kOurMinor = 41;
constexpr int kOldestMinor = 25;

using Socket = std::variant<asio::local::stream_protocol::socket, asio::ip::tcp::socket>;

struct Connection {
  asio::io_context io;
  std::optional<Socket> socket;
  std::string host;
  std::chrono::seconds idle_timeout{0};
};

constexpr std::chrono::seconds kConnectTimeout{10};

// How long the daemon may stay silent (or not take what is sent) before the run ends:
// $DOCKER_DELTA_DAEMON_TIMEOUT seconds, 300 by default (a load of a large image is answered only
// once the daemon has unpacked it).
std::chrono::seconds idle_timeout() {
  if (const char* env = std::getenv("DOCKER_DELTA_DAEMON_TIMEOUT"); env != nullptr && *env != '\0') {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return std::chrono::seconds(v);
  }
  return std::chrono::seconds(300);
}

void close_socket(Socket& socket) {
  std::visit([](auto& s) {
    boost::system::error_code ignored;
    s.close(ignored);
  }, socket);
}

// Runs one asynchronous operation to completion, within `timeout` of silence, and answers
// interruption: sync socket calls would wait for ever on a daemon that stops answering.
template <typename Start>
boost::system::error_code await(Connection& c, std::chrono::seconds timeout, const char* doing, Start start) {
  bool done = false;
  boost::system::error_code result;
  start([&](boost::system::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::exception_ptr interrupted;
  bool timed_out = false;
  c.io.restart();
  while (!done) {
    c.io.run_for(std::chrono::milliseconds(250));
    if (done) break;
    try {
      throw_if_interrupted();
    } catch (...) {
      interrupted = std::current_exception();
    }
    if (!interrupted && std::chrono::steady_clock::now() >= deadline) timed_out = true;
    if (interrupted || timed_out) {
      if (c.socket) close_socket(*c.socket);  // the pending operation completes, cancelled
      c.io.restart();
      c.io.run();
      break;
    }
  }
  if (interrupted) std::rethrow_exception(interrupted);
  if (timed_out)
    fail(Errc::io, "docker daemon at {}: no answer for {} s while {} (DOCKER_DELTA_DAEMON_TIMEOUT sets the limit)", c.host,
         timeout.count(), doing);
  return result;
}

std::unique_ptr<Connection> connect(const std::string& host) {
  auto c = std::make_unique<Connection>();
  c->host = host;
  c->idle_timeout = idle_timeout();
  boost::system::error_code ec;
  if (host.rfind("unix://", 0) == 0) {
    const std::string path = host.substr(7);
    c->socket.emplace(asio::local::stream_protocol::socket(c->io));
    auto& s = std::get<asio::local::stream_protocol::socket>(*c->socket);
    ec = await(*c, kConnectTimeout, "connecting",
               [&](auto handler) { s.async_connect(asio::local::stream_protocol::endpoint(path), handler); });
    if (ec)
      fail(Errc::not_found, "cannot connect to the docker daemon at {}: {} (is it running? --host or DOCKER_HOST name another)",
           host, ec.message());
  } else if (host.rfind("tcp://", 0) == 0) {
    std::string rest = host.substr(6);
    if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) fail(Errc::usage, "docker host '{}' needs a port: tcp://HOST:PORT", host);
    asio::ip::tcp::resolver resolver(c->io);
    auto endpoints = resolver.resolve(rest.substr(0, colon), rest.substr(colon + 1), ec);
    c->socket.emplace(asio::ip::tcp::socket(c->io));
    auto& s = std::get<asio::ip::tcp::socket>(*c->socket);
    if (!ec) ec = await(*c, kConnectTimeout, "connecting", [&](auto handler) { asio::async_connect(s, endpoints, handler); });
    if (ec) fail(Errc::not_found, "cannot connect to the docker daemon at {}: {}", host, ec.message());
  } else {
    fail(Errc::usage, "docker host '{}' is not unix:///PATH or tcp://HOST:PORT", host);
  }
  return c;
}

// A request target is built from names: one that could end the request line or add a header
// never reaches the socket, whatever a caller forgot to encode.
void check_target(const std::string& target) {
  for (unsigned char ch : target)
    if (ch <= 0x20 || ch >= 0x7f) fail(Errc::internal, "docker daemon request '{}' holds a character that must be encoded", printable(target));
}

template <typename Request>
void prepare(Request& req, const std::string& host) {
  req.set(http::field::host, host.rfind("tcp://", 0) == 0 ? host.substr(6) : "docker");
  req.set(http::field::user_agent, "docker_delta");
  req.set(http::field::connection, "close");
}

// The daemon's error answer is JSON {"message": "..."}; anything else is shown as text.
[[noreturn]] void fail_with_answer(const std::string& host, const std::string& what, unsigned status, const std::string& body) {
  std::string message = body;
  try {
    const auto j = parse_json_limited(body, Limits{}, "the daemon's error answer");
    if (j.is_object() && j.contains("message") && j["message"].is_string()) message = j["message"].get<std::string>();
  } catch (const Error&) {
  }
  fail(status == 404 ? Errc::not_found : Errc::bad_input, "docker daemon at {}: {}: {}", host, what,
       printable(one_line_message(message)));
}

// Reads a response, handing the body to `sink` as it arrives; returns the status code. Error
// answers are read whole up to 64 KiB (they are small) into `error_body`.
template <typename Stream>
unsigned read_response(Connection& c, Stream& s, const DockerEngine::Sink& sink, std::string& error_body) {
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // image streams are gigabytes
  boost::system::error_code ec =
      await(c, c.idle_timeout, "waiting for its answer", [&](auto handler) { http::async_read_header(s, buffer, parser, handler); });
  if (ec) fail(Errc::io, "docker daemon at {}: reading the answer: {}", c.host, ec.message());
  const unsigned status = parser.get().result_int();
  std::vector<char> block(1 << 20);
  while (!parser.is_done()) {
    throw_if_interrupted();
    parser.get().body().data = block.data();
    parser.get().body().size = block.size();
    ec = await(c, c.idle_timeout, "reading its answer", [&](auto handler) { http::async_read(s, buffer, parser, handler); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) fail(Errc::io, "docker daemon at {}: the answer broke off: {}", c.host, ec.message());
    const std::size_t n = block.size() - parser.get().body().size;
    if (n == 0) continue;
    if (status >= 300) {
      if (error_body.size() < 65536) error_body.append(block.data(), std::min<std::size_t>(n, 65536 - error_body.size()));
    } else {
      sink(block.data(), n);
    }
  }
  return status;
}

}  // namespace

std::string DockerEngine::resolve_host(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("DOCKER_HOST"); env != nullptr && *env != '\0') return env;
  if (auto context = docker_context_host()) return *context;
  return "unix:///var/run/docker.sock";
}

DockerEngine::DockerEngine(std::string host, Limits limits) : host_(std::move(host)), limits_(limits) {}

std::string DockerEngine::versioned(const std::string& path) {
  if (version_prefix_.empty()) {
    // /_ping answers with the daemon's API version in a header, on every version since 1.25.
    auto c = connect(host_);
    http::request<http::empty_body> req{http::verb::get, "/_ping", 11};
    prepare(req, host_);
    std::string version;
    std::visit(
        [&](auto& s) {
          boost::system::error_code ec =
              await(*c, c->idle_timeout, "sending a request", [&](auto handler) { http::async_write(s, req, handler); });
          if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
          boost::beast::flat_buffer buffer;
          http::response_parser<http::string_body> res;
          res.body_limit(64 * 1024);
          ec = await(*c, c->idle_timeout, "waiting for its answer", [&](auto handler) { http::async_read(s, buffer, res, handler); });
          if (ec) fail(Errc::io, "docker daemon at {} does not answer: {}", host_, ec.message());
          version = std::string(res.get()["Api-Version"]);
        },
        *c->socket);
    int minor = kOurMinor;
    if (version.rfind("1.", 0) == 0) minor = std::min(kOurMinor, std::atoi(version.c_str() + 2));
    if (minor < kOldestMinor)
      fail(Errc::unsupported, "docker daemon at {} speaks API {}; 1.{} or newer is needed", host_, printable(version), kOldestMinor);
    version_prefix_ = fmt::format("/v1.{}", minor);
  }
  return version_prefix_ + path;
}

void DockerEngine::get_stream(const std::string& path, const Sink& sink) {
  check_target(path);
  const std::string target = versioned(path);
  auto c = connect(host_);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  prepare(req, host_);
  std::string error_body;
  const unsigned status = std::visit(
      [&](auto& s) {
        const boost::system::error_code ec =
            await(*c, c->idle_timeout, "sending a request", [&](auto handler) { http::async_write(s, req, handler); });
        if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
        return read_response(*c, s, sink, error_body);
      },
      *c->socket);
  if (status >= 300) fail_with_answer(host_, "GET " + path, status, error_body);
}

nlohmann::json DockerEngine::get_json(const std::string& path, std::size_t max_bytes) {
  Limits limits = limits_;
  if (max_bytes != 0) limits.max_json_bytes = max_bytes;
  std::string body;
  get_stream(path, [&](const char* p, std::size_t n) {
    // Bounded as it arrives: a hostile answer is refused before it is held, let alone parsed.
    if (body.size() + n > limits.max_json_bytes)
      fail(Errc::limit, "docker daemon at {}: GET {}: the answer is larger than {} bytes", host_, path, limits.max_json_bytes);
    body.append(p, n);
  });
  return parse_json_limited(body, limits, fmt::format("docker daemon at {}: GET {}: the answer", host_, path));
}

std::string DockerEngine::post_stream(const std::string& path, const std::string& content_type,
                                      const std::function<void(const Sink&)>& produce) {
  check_target(path);
  const std::string target = versioned(path);
  auto c = connect(host_);
  std::string answer, error_body;
  const unsigned status = std::visit(
      [&](auto& s) {
        http::request<http::buffer_body> req{http::verb::post, target, 11};
        prepare(req, host_);
        req.set(http::field::content_type, content_type);
        req.chunked(true);
        http::request_serializer<http::buffer_body> sr{req};
        boost::system::error_code ec;
        auto send = [&](const char* p, std::size_t n, bool more) {
          req.body().data = const_cast<char*>(p);
          req.body().size = n;
          req.body().more = more;
          ec = await(*c, c->idle_timeout, "sending the image", [&](auto handler) { http::async_write(s, sr, handler); });
          if (ec == http::error::need_buffer) ec = {};
          // The daemon may stop reading and answer early (a rejected load): read why.
          if (ec) {
            std::string early;
            try {
              read_response(*c, s, [&](const char* d, std::size_t k) {
                if (early.size() < 65536) early.append(d, std::min<std::size_t>(k, 65536 - early.size()));
              }, early);
            } catch (const Error&) {
            }
            fail(Errc::bad_input, "docker daemon at {}: POST {}: it stopped reading ({}){}{}", host_, path, ec.message(),
                 early.empty() ? "" : ": ", printable(one_line_message(early)));
          }
        };
        ec = await(*c, c->idle_timeout, "sending a request", [&](auto handler) { http::async_write_header(s, sr, handler); });
        if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
        produce([&](const char* p, std::size_t n) {
          if (n > 0) send(p, n, true);
        });
        send(nullptr, 0, false);
        return read_response(*c, s, [&](const char* p, std::size_t n) {
          if (answer.size() + n > limits_.max_json_bytes)
            fail(Errc::limit, "docker daemon at {}: POST {}: the answer is larger than {} bytes", host_, path, limits_.max_json_bytes);
          answer.append(p, n);
        }, error_body);
      },
      *c->socket);
  if (status >= 300) fail_with_answer(host_, "POST " + path, status, error_body);
  return answer;
}

std::string DockerEngine::post(const std::string& path) {
  return post_stream(path, "text/plain", [](const Sink&) {});
}

std::string one_line_message(std::string message) {
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  if (message.size() > 1000) message = message.substr(0, 1000) + "...";
  return message;
}

std::string url_path(const std::string& value) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const auto slash = value.find('/', start);
    out += url_encode(value.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    out += '/';
    start = slash + 1;
  }
}

std::string url_encode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace dd
