// docker_delta: parses the command line, runs the chosen command, and maps every failure to one
// line on stderr and an exit status (0 ok, 1 failure, 2 usage).
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_state.h"
#include "cli/docker_plugin.h"
#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/progress.h"
#include "pipeline/registry.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// One line, no control characters and no ill-formed UTF-8: names in messages come from
// untrusted archives and must not move the cursor or rewrite the terminal.
int report(const std::string& message, int status) {
  dd::Progress::clear_line();
  std::string line = message;
  for (char& c : line)
    if (c == '\n' || c == '\t') c = ' ';
  line = dd::log::terminal_safe(line);
  std::fprintf(stderr, "docker_delta: error: %s\n", line.c_str());
  return status;
}

// CLI11 does not suggest anything for a misspelt command; we do.
std::string unknown_command_hint(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  const std::string word = argv[1];
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  for (const auto& n : names)
    if (n == word) return "";
  const std::string best = dd::did_you_mean(word, names);
  return best.empty() ? "unknown command '" + word + "' (see docker_delta --help)"
                      : "unknown command '" + word + "': did you mean '" + best + "'?";
}

// CLI11 says an option was not expected; we say which one was meant, from the options of the
// command given (and the global ones).
std::string unknown_option_hint(const CLI::App& app, int argc, char** argv, const std::string& message) {
  const CLI::App* command = &app;
  std::string word;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (command == &app && arg[0] != '-') {
      for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->get_name() == arg) command = sub;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") continue;
    const std::string name = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    if (message.find(arg) == std::string::npos && message.find("--" + name) == std::string::npos) continue;
    word = name;
    break;
  }
  if (word.empty()) return "";
  std::vector<std::string> names;
  for (const CLI::App* a : {command, &app})
    for (const auto* opt : a->get_options())
      for (const auto& l : opt->get_lnames()) names.push_back(l);
  const std::string best = dd::did_you_mean(word, names);
  return best.empty() ? "" : "unknown option '--" + word + "': did you mean '--" + best + "'?";
}

}  // namespace

int main(int argc, char** argv) {
  // Started by docker as its `delta` command: docker's options applied, the rest parsed as ours.
  std::optional<dd::cli::PluginCall> plugin;
  try {
    plugin = dd::cli::docker_plugin_call(argc, argv);
  } catch (const dd::Error& e) {
    return report(e.what(), kExitUsage);
  }
  if (plugin && plugin->metadata) {
    std::fputs(dd::cli::docker_plugin_metadata().c_str(), stdout);
    return 0;
  }
  std::vector<char*> plugin_argv;
  if (plugin) {
    for (auto& a : plugin->args) plugin_argv.push_back(a.data());
    argc = static_cast<int>(plugin_argv.size());
    argv = plugin_argv.data();
  }

  dd::cli::CliState state;
  CLI::App app{"docker_delta: ship container images as small delta packages against what the receiver has, and "
               "move them between formats, as streams of verified blobs"};
  app.name(plugin ? "docker delta" : "docker_delta");
  app.set_version_flag("--version", std::string("docker_delta ") + DOCKER_DELTA_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_flag("-v,--verbose", state.global.verbose, "say what happens to each layer");
  app.add_flag("-q,--quiet", state.global.quiet, "print nothing but errors");
  app.add_flag("--json", state.global.json, "print results as JSON on stdout");
  app.add_option("--progress", state.global.progress,
                 "progress on stderr: auto (a line redrawn on a terminal, else none), bar, none, or json (one "
                 "object a line: event, layer, layers, bytes, total, all_bytes, rate)")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}));
  app.footer(
      "Examples:\n"
      "  docker_delta create --base app-v1.tar app-v2.tar update.ddelta\n"
      "  docker_delta apply --base app-v1.tar update.ddelta docker-archive:app-v2.tar:app:v2\n"
      "  docker_delta apply update.ddelta            (into the docker daemon, bases from it)\n"
      "  docker_delta inspect app.tar\n"
      "  docker_delta archive-to-oci app.tar app.d\n"
      "  docker_delta process oci:multi.d docker-archive:arm.tar:app:arm --platform linux/arm64\n"
      "Run 'docker_delta COMMAND --help' for a command's options, 'docker_delta stages' for stage types.");
  dd::cli::add_process_commands(app, state);
  dd::cli::add_inspect_command(app, state);
  dd::cli::add_stages_command(app, state);
  dd::cli::add_create_commands(app, state);
  dd::cli::add_apply_commands(app, state);
  dd::cli::add_package_commands(app, state);
  dd::cli::add_verify_command(app, state);
  dd::cli::add_keygen_command(app, state);
  dd::cli::add_inventory_command(app, state);

  if (const std::string hint = unknown_command_hint(app, argc, argv); !hint.empty()) return report(hint, kExitUsage);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (const std::string hint = unknown_option_hint(app, argc, argv, e.what()); !hint.empty()) return report(hint, kExitUsage);
    return report(std::string(e.what()) + " (see docker_delta --help)", kExitUsage);
  }

  dd::log::set_level(state.global.quiet ? dd::log::Level::quiet
                     : state.global.verbose ? dd::log::Level::verbose
                                            : dd::log::Level::normal);
  dd::install_interruption_handlers();
  try {
    const int status = state.action ? state.action() : kExitUsage;
    std::cout.flush();
    if (!std::cout) return report("cannot write to standard output", kExitFailure);
    return status;
  } catch (const dd::Error& e) {
    return report(e.what(), e.code() == dd::Errc::usage ? kExitUsage : kExitFailure);
  } catch (const std::exception& e) {
    return report(e.what(), kExitFailure);
  }
}
