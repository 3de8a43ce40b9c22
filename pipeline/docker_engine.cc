#include "pipeline/docker_engine.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <limits>
#include <variant>

#include "pipeline/error.h"
#include "pipeline/interruption.h"

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
};

std::unique_ptr<Connection> connect(const std::string& host) {
  auto c = std::make_unique<Connection>();
  boost::system::error_code ec;
  if (host.rfind("unix://", 0) == 0) {
    const std::string path = host.substr(7);
    asio::local::stream_protocol::socket s(c->io);
    s.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (ec)
      fail(Errc::not_found, "cannot connect to the docker daemon at {}: {} (is it running? --host or DOCKER_HOST name another)",
           host, ec.message());
    c->socket.emplace(std::move(s));
  } else if (host.rfind("tcp://", 0) == 0) {
    std::string rest = host.substr(6);
    if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) fail(Errc::usage, "docker host '{}' needs a port: tcp://HOST:PORT", host);
    asio::ip::tcp::resolver resolver(c->io);
    auto endpoints = resolver.resolve(rest.substr(0, colon), rest.substr(colon + 1), ec);
    asio::ip::tcp::socket s(c->io);
    if (!ec) asio::connect(s, endpoints, ec);
    if (ec) fail(Errc::not_found, "cannot connect to the docker daemon at {}: {}", host, ec.message());
    c->socket.emplace(std::move(s));
  } else {
    fail(Errc::usage, "docker host '{}' is not unix:///PATH or tcp://HOST:PORT", host);
  }
  return c;
}

template <typename Request>
void prepare(Request& req, const std::string& host) {
  req.set(http::field::host, host.rfind("tcp://", 0) == 0 ? host.substr(6) : "docker");
  req.set(http::field::user_agent, "docker_delta");
  req.set(http::field::connection, "close");
}

// The daemon's error answer is JSON {"message": "..."}; anything else is shown as text.
[[noreturn]] void fail_with_answer(const std::string& what, unsigned status, const std::string& body) {
  std::string message = body;
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) message = j["message"].get<std::string>();
  } catch (const std::exception&) {
  }
  fail(status == 404 ? Errc::not_found : Errc::bad_input, "docker daemon: {}: {}", what, one_line_message(message));
}

// Reads a response, handing the body to `sink` as it arrives; returns the status code. Error
// answers are read whole (they are small) into `error_body`.
template <typename Stream>
unsigned read_response(Stream& s, const DockerEngine::Sink& sink, std::string& error_body) {
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // image streams are gigabytes
  boost::system::error_code ec;
  http::read_header(s, buffer, parser, ec);
  if (ec) fail(Errc::io, "docker daemon: reading the answer: {}", ec.message());
  const unsigned status = parser.get().result_int();
  std::vector<char> block(1 << 20);
  while (!parser.is_done()) {
    throw_if_interrupted();
    parser.get().body().data = block.data();
    parser.get().body().size = block.size();
    http::read(s, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) fail(Errc::io, "docker daemon: the answer broke off: {}", ec.message());
    const std::size_t n = block.size() - parser.get().body().size;
    if (n == 0) continue;
    if (status >= 300) {
      if (error_body.size() < 65536) error_body.append(block.data(), n);
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
  return "unix:///var/run/docker.sock";
}

DockerEngine::DockerEngine(std::string host) : host_(std::move(host)) {}

std::string DockerEngine::versioned(const std::string& path) {
  if (version_prefix_.empty()) {
    // /_ping answers with the daemon's API version in a header, on every version since 1.25.
    auto c = connect(host_);
    http::request<http::empty_body> req{http::verb::get, "/_ping", 11};
    prepare(req, host_);
    std::string version;
    std::visit(
        [&](auto& s) {
          boost::system::error_code ec;
          http::write(s, req, ec);
          if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
          boost::beast::flat_buffer buffer;
          http::response<http::string_body> res;
          http::read(s, buffer, res, ec);
          if (ec) fail(Errc::io, "docker daemon at {} does not answer: {}", host_, ec.message());
          version = std::string(res["Api-Version"]);
        },
        *c->socket);
    int minor = kOurMinor;
    if (version.rfind("1.", 0) == 0) minor = std::min(kOurMinor, std::atoi(version.c_str() + 2));
    if (minor < kOldestMinor) fail(Errc::unsupported, "docker daemon at {} speaks API {}; 1.{} or newer is needed", host_, version, kOldestMinor);
    version_prefix_ = fmt::format("/v1.{}", minor);
  }
  return version_prefix_ + path;
}

void DockerEngine::get_stream(const std::string& path, const Sink& sink) {
  const std::string target = versioned(path);
  auto c = connect(host_);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  prepare(req, host_);
  std::string error_body;
  const unsigned status = std::visit(
      [&](auto& s) {
        boost::system::error_code ec;
        http::write(s, req, ec);
        if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
        return read_response(s, sink, error_body);
      },
      *c->socket);
  if (status >= 300) fail_with_answer("GET " + path, status, error_body);
}

nlohmann::json DockerEngine::get_json(const std::string& path) {
  std::string body;
  get_stream(path, [&](const char* p, std::size_t n) {
    body.append(p, n);
    if (body.size() > (64u << 20)) fail(Errc::limit, "docker daemon: GET {}: the answer is too large", path);
  });
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception&) {
    fail(Errc::bad_input, "docker daemon: GET {}: the answer is not JSON", path);
  }
}

std::string DockerEngine::post_stream(const std::string& path, const std::string& content_type,
                                      const std::function<void(const Sink&)>& produce) {
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
          http::write(s, sr, ec);
          if (ec == http::error::need_buffer) ec = {};
          // The daemon may stop reading and answer early (a rejected load): read why.
          if (ec) {
            std::string early;
            try {
              read_response(s, [&](const char* d, std::size_t k) { early.append(d, k); }, early);
            } catch (const Error&) {
            }
            fail(Errc::bad_input, "docker daemon: POST {}: it stopped reading ({}){}{}", path, ec.message(),
                 early.empty() ? "" : ": ", one_line_message(early));
          }
        };
        http::write_header(s, sr, ec);
        if (ec) fail(Errc::io, "docker daemon at {}: {}", host_, ec.message());
        produce([&](const char* p, std::size_t n) {
          if (n > 0) send(p, n, true);
        });
        send(nullptr, 0, false);
        return read_response(s, [&](const char* p, std::size_t n) { answer.append(p, n); }, error_body);
      },
      *c->socket);
  if (status >= 300) fail_with_answer("POST " + path, status, error_body);
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

std::string url_encode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace dd
