#include "cli/docker_plugin.h"

#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace dd::cli {
namespace {

constexpr std::string_view kPluginName = "delta";
constexpr std::string_view kMetadataCommand = "docker-cli-plugin-metadata";

std::string_view basename(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// docker's global options that take a value, and the variable that carries each to the daemon
// client (docker_engine.h, docker_context.h).
struct ValueOption {
  std::string_view long_name, short_name;
  const char* env;  // null: accepted and ignored
};
constexpr ValueOption kValueOptions[] = {
    {"--host", "-H", "DOCKER_HOST"},
    {"--context", "-c", "DOCKER_CONTEXT"},
    {"--config", "", "DOCKER_CONFIG"},
    {"--log-level", "-l", nullptr},
};

}  // namespace

std::string docker_plugin_metadata() {
  return nlohmann::json{{"SchemaVersion", "0.1.0"},
                        {"Vendor", "docker_delta"},
                        {"Version", DOCKER_DELTA_VERSION},
                        {"ShortDescription", "Ship images as small delta packages against what the receiver has"}}
             .dump() + "\n";
}

std::optional<PluginCall> docker_plugin_call(int argc, char** argv) {
  if (argc < 1 || basename(argv[0]) != std::string("docker-").append(kPluginName)) return std::nullopt;
  PluginCall call;
  call.args.push_back("docker delta");
  int i = 1;
  if (i < argc && argv[i] == kMetadataCommand) {
    call.metadata = true;
    return call;
  }
  // docker passes its own global options first, then the plugin's name.
  bool verbose = false, host_given = false, context_given = false;
  for (; i < argc && argv[i] != kPluginName; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-D" || arg == "--debug") {
      verbose = true;
      continue;
    }
    if (arg.rfind("--tls", 0) == 0)
      fail(Errc::usage, "docker's {} is not supported: docker_delta reaches the daemon over a unix socket or plain tcp://",
           std::string(arg));
    bool known = false;
    for (const auto& o : kValueOptions) {
      std::string value;
      if (arg == o.long_name || (!o.short_name.empty() && arg == o.short_name)) {
        if (i + 1 >= argc) fail(Errc::usage, "docker's {} needs a value", std::string(arg));
        value = argv[++i];
      } else if (arg.rfind(std::string(o.long_name) + "=", 0) == 0) {
        value = std::string(arg.substr(o.long_name.size() + 1));
      } else {
        continue;
      }
      if (o.env != nullptr) ::setenv(o.env, value.c_str(), 1);
      host_given |= o.long_name == "--host";
      context_given |= o.long_name == "--context";
      known = true;
      break;
    }
    if (!known) fail(Errc::usage, "'{}' before '{}' is not a docker global option", std::string(arg), kPluginName);
  }
  // As docker does: --context wins over $DOCKER_HOST, --host over both.
  if (context_given && !host_given) ::unsetenv("DOCKER_HOST");
  if (i < argc) ++i;  // the plugin's name
  if (verbose) call.args.push_back("--verbose");
  for (; i < argc; ++i) call.args.push_back(argv[i]);
  return call;
}

}  // namespace dd::cli
