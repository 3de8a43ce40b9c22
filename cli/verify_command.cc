// verify: would this package apply? Checks its parts, header, signature and every payload, and
// with the receiver's images (--base) decodes every layer and checks its diff_id. Writes nothing.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/cli_state.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/base_images.h"
#include "delta/package_parts.h"
#include "delta/package_trust.h"
#include "delta/package_verifier.h"
#include "delta/receiver.h"

namespace dd::cli {
namespace {

struct VerifyArgs {
  std::string package;
  PipelineFlags flags;
  std::vector<std::string> trust;
};

int run_verify(const VerifyArgs& args, const GlobalFlags& global) {
  OpenedPackage opened = open_package(args.package);
  const PackageHeader header = read_package_header(*opened.stream, Limits{}, opened.what);
  check_package_identity(opened, header.header_digest);
  const std::string signature = Trust::load(args.trust).check(header, opened.what);  // refuses before any base is read
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  BaseImages* bases = ctx.receiver && ctx.receiver->bases ? ctx.receiver->bases.get() : nullptr;
  const Inventory* have = ctx.receiver ? &ctx.receiver->inventory : nullptr;
  const PackageVerdict verdict = verify_package(header, *opened.stream, bases, have, ctx, opened.what);

  if (global.json) {
    nlohmann::json j = verdict.to_json();
    j["package"] = args.package;
    j["parts"] = opened.part_paths;
    j["signature"] = signature;
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (!global.quiet) {
    std::cout << fmt::format("{}: {}\n", opened.what, signature);
    if (!opened.part_paths.empty()) std::cout << fmt::format("  {} parts, each whole and matching its SHA-256\n", opened.part_paths.size());
    for (const auto& image : verdict.images) {
      std::cout << fmt::format("{} {}  {}\n", image.ok ? "ok  " : "FAIL", printable(image.name), image.image_id.short_str());
      if (!image.problem.empty()) std::cout << fmt::format("      config: {}\n", printable(image.problem));
      for (const auto& l : image.layers)
        if (!l.ok || global.verbose)
          std::cout << fmt::format("  {} layer {:>2} {}  {}\n", l.ok ? "ok  " : "FAIL", l.layer + 1, l.diff_id.short_str(), printable(l.detail));
    }
    if (!verdict.decoded) std::cout << "layers not decoded: give the receiver's images with --base to check every diff_id\n";
  }
  if (!verdict.ok()) {
    for (const auto& image : verdict.images) {
      if (!image.problem.empty()) fail(Errc::integrity, "{}: {}: {}", opened.what, printable(image.name), image.problem);
      for (const auto& l : image.layers)
        if (!l.ok)
          fail(Errc::integrity, "{}: {} layer {} ({}): {}", opened.what, printable(image.name), l.layer + 1, l.diff_id.short_str(), l.detail);
    }
  }
  if (!global.json && !global.quiet) std::cout << (verdict.decoded ? "the package would apply\n" : "the package is whole and undamaged\n");
  return 0;
}

}  // namespace

void add_verify_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand("verify", "Check that a package would apply: parts, header, signature, payloads, and with --base every layer");
  cmd->add_option("PACKAGE", args->package, "the package file (of a split package: PACKAGE or any part)")->required();
  add_receiver_flags(*cmd, args->flags, true);
  add_host_flag(*cmd, args->flags);
  cmd->add_option("--trust", args->trust, "a public key whose signature is accepted (repeatable; default: $DOCKER_DELTA_TRUST_DIR/*.pub)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->footer(
      "Examples:\n"
      "  docker_delta verify stack.ddelta.001                          # before the trip: parts, signature, payloads\n"
      "  docker_delta verify --trust build.pub --base app-v1.tar update.ddelta   # at the site: every layer decoded\n"
      "  docker_delta verify update.ddelta --base docker-daemon:app:v1 --json");
  cmd->callback([&state, args] { state.action = [&state, args] { return run_verify(*args, state.global); }; });
}

}  // namespace dd::cli
