// `stages`: every source, filter and destination type, with its syntax (like `ninja -t list`).
#include <fmt/format.h>

#include <iostream>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"

namespace dd::cli {

void add_stages_command(CLI::App& app, CliState& state) {
  CLI::App* cmd = app.add_subcommand("stages", "List the source, filter and destination types");
  cmd->callback([&state] {
    state.action = [&state] {
      const auto entries = builtin_registry().entries();
      if (state.global.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& e : entries) {
          const char* role = e.role == Registry::Role::input ? "source" : e.role == Registry::Role::filter ? "filter" : "destination";
          out.push_back({{"name", e.name}, {"role", role}, {"usage", e.usage}, {"summary", e.summary}});
        }
        std::cout << out.dump(2) << "\n";
        return 0;
      }
      for (auto role : {Registry::Role::input, Registry::Role::filter, Registry::Role::output}) {
        std::cout << (role == Registry::Role::input ? "Sources:\n" : role == Registry::Role::filter ? "Filters:\n" : "Destinations:\n");
        for (const auto& e : entries)
          if (e.role == role) std::cout << fmt::format("  {:<36} {}\n", e.usage, e.summary);
      }
      return 0;
    };
  });
}

}  // namespace dd::cli
