#include "clients/docker/docker_context.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/error.h"
#include "core/printable.h"

namespace dd {
namespace {

// A docker config or context file is a few hundred bytes; anything far larger is not one.
constexpr std::streamsize kMaxConfigBytes = 1 << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string config_dir() {
  if (std::string d = env("DOCKER_CONFIG"); !d.empty()) return d;
  return env("HOME") + "/.docker";
}

// The file parsed as JSON; nothing when it does not exist.
std::optional<nlohmann::json> read_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::string text(kMaxConfigBytes + 1, '\0');
  f.read(text.data(), kMaxConfigBytes + 1);
  text.resize(static_cast<std::size_t>(f.gcount()));
  if (text.size() > static_cast<std::size_t>(kMaxConfigBytes))
    fail(Errc::bad_input, "{} is larger than {} bytes: not a docker config", printable(path), kMaxConfigBytes);
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail(Errc::bad_input, "{} is not valid JSON", printable(path));
  return doc;
}

}  // namespace

std::optional<std::string> docker_context_host() {
  const std::string dir = config_dir();
  std::string name = env("DOCKER_CONTEXT");
  const char* from = "$DOCKER_CONTEXT";
  if (name.empty()) {
    const auto config = read_json(dir + "/config.json");
    if (!config || !config->contains("currentContext") || !(*config)["currentContext"].is_string()) return std::nullopt;
    name = (*config)["currentContext"].get<std::string>();
    from = "currentContext in config.json";
  }
  if (name.empty() || name == "default") return std::nullopt;
  const std::string meta = dir + "/contexts/meta/" + Digest::sha256_of(name).hex() + "/meta.json";
  const auto doc = read_json(meta);
  if (!doc) fail(Errc::not_found, "docker context '{}' ({}) does not exist: no {}", printable(name), from, printable(meta));
  const auto endpoints = doc->find("Endpoints");
  if (endpoints == doc->end() || !endpoints->is_object() || !endpoints->contains("docker") ||
      !(*endpoints)["docker"].is_object() || !(*endpoints)["docker"].contains("Host") ||
      !(*endpoints)["docker"]["Host"].is_string())
    fail(Errc::bad_input, "docker context '{}' names no docker endpoint in {}", printable(name), printable(meta));
  return (*endpoints)["docker"]["Host"].get<std::string>();
}

}  // namespace dd
