// docker_delta as a Docker CLI plugin: installed as cli-plugins/docker-delta (a link to the
// binary), `docker delta ARGS` runs it as `docker-delta [DOCKER GLOBAL OPTIONS] delta ARGS`, and
// `docker-delta docker-cli-plugin-metadata` must answer with the plugin's JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dd::cli {

struct PluginCall {
  bool metadata = false;          // answer docker-cli-plugin-metadata and exit
  std::vector<std::string> args;  // the command line to parse, argv[0] first
};

// When the program was started as a docker CLI plugin (argv[0] named docker-delta), the call
// docker made, with docker's global options applied: --host/-H and --context/-c/--config set
// the daemon as docker's own commands would see it ($DOCKER_HOST, $DOCKER_CONTEXT,
// $DOCKER_CONFIG), --debug/-D means --verbose. Nothing when started under its own name.
std::optional<PluginCall> docker_plugin_call(int argc, char** argv);

// What docker-cli-plugin-metadata prints.
std::string docker_plugin_metadata();

}  // namespace dd::cli
