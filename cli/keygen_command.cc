// keygen: an Ed25519 key pair for signing packages (create --sign) and trusting them (--trust).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/cli_state.h"
#include "delta/package_trust.h"

namespace dd::cli {

void add_keygen_command(CLI::App& app, CliState& state) {
  auto path = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("keygen", "Make a key pair for signing packages: KEYFILE (private, mode 0600) and KEYFILE.pub");
  cmd->add_option("KEYFILE", *path, "where the private key goes; the public key goes to KEYFILE.pub")->required();
  cmd->add_flag("-f,--force", *force, "replace existing key files");
  cmd->footer(
      "Example:\n"
      "  docker_delta keygen build.key        # then: create --sign build.key ...; at the site: apply --trust build.pub ...\n"
      "  install -m 644 build.key.pub /etc/docker_delta/trust.d/build.pub   # trusted by every apply there");
  cmd->callback([&state, path, force] {
    state.action = [&state, path, force] {
      const std::string id = generate_signing_key(*path, *force);
      if (state.global.json)
        std::cout << nlohmann::json{{"private_key", *path}, {"public_key", *path + ".pub"}, {"key_id", id}}.dump(2) << "\n";
      else if (!state.global.quiet)
        std::cout << fmt::format("wrote {} (private, keep it safe) and {}: key {}\n", *path, *path + ".pub", id);
      return 0;
    };
  });
}

}  // namespace dd::cli
