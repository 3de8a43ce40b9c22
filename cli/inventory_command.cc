// inventory: records the layers of the images a receiving machine has, for create --inventory.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "clients/docker/daemon_images.h"
#include "clients/registry/registry_client.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/receiver.h"
#include "stores/atomic_destination.h"

namespace dd::cli {
namespace {

struct InventoryArgs {
  std::vector<std::string> sources;
  std::string output;
  PipelineFlags flags;
  bool all_tags = false;
};

// docker://HOST/REPO with --all-tags: one source per tag of the repository (at most kMaxTags).
constexpr std::size_t kMaxTags = 1000;
std::vector<StageSpec> every_tag(const StageSpec& spec, const RunContext& ctx) {
  RegistryReference ref = parse_registry_reference(spec.argument);
  RegistryClient client(ref, ctx.registry, false);
  std::vector<StageSpec> out;
  for (const auto& tag : client.tags(kMaxTags)) out.push_back({spec.kind, "//" + ref.host + "/" + ref.repository + ":" + tag, spec.options});
  if (out.empty()) fail(Errc::not_found, "{} has no tags in {}", client.describe(), ref.repository);
  return out;
}

// Every tagged image the daemon holds (untagged ones by ID).
std::vector<StageSpec> every_daemon_image(const RunContext& ctx) {
  std::vector<StageSpec> specs;
  for (auto& name : daemon_image_names(ctx.docker_host, ctx.limits)) specs.push_back({"docker-daemon", std::move(name), {}});
  return specs;
}

int run_inventory(const InventoryArgs& args, const GlobalFlags& global) {
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  std::vector<StageSpec> specs;
  for (const auto& s : args.sources) {
    if (s == "docker-daemon:" || s == "docker-daemon") continue;
    StageSpec spec = source_spec(s, nullptr);
    if (args.all_tags && spec.kind == "docker") {
      for (auto& tagged : every_tag(spec, ctx)) specs.push_back(std::move(tagged));
    } else {
      specs.push_back(std::move(spec));
    }
  }
  if (args.all_tags && specs.empty()) fail(Errc::usage, "--all-tags needs docker://HOST/REPO sources");
  if (specs.empty()) specs = every_daemon_image(ctx);
  BaseImages images(specs, builtin_registry(), ctx);
  const std::string text = images.inventory().to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (args.output.empty() || args.output == "-") {
    std::cout << text;
    return 0;
  }
  AtomicDestination dest(args.output, AtomicDestination::Kind::file, args.flags.force);
  {
    std::ofstream out(dest.temp_path(), std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) fail(Errc::io, "cannot write {}", dest.temp_path());
  }
  dest.commit();
  if (!global.quiet && !global.json)
    std::cerr << fmt::format("wrote {}: {} image(s)\n", args.output, images.inventory().images().size());
  return 0;
}

}  // namespace

void add_inventory_command(CLI::App& app, CliState& state) {
  auto inv = std::make_shared<InventoryArgs>();
  CLI::App* icmd = app.add_subcommand("inventory", "Record the layers of images this machine has, for 'create --inventory'");
  icmd->add_option("SOURCE", inv->sources,
                   "images: archives, oci:DIR, docker-daemon:NAME, docker://HOST/REPO:TAG ... (none: every image in the docker daemon)");
  icmd->add_flag("--all-tags", inv->all_tags, "for each docker://HOST/REPO source, every tag of the repository");
  add_host_flag(*icmd, inv->flags);
  icmd->add_option("-o,--output", inv->output, "write to this file instead of standard output");
  icmd->add_flag("-f,--force", inv->flags.force, "replace an existing output file");
  icmd->add_option("--platform", inv->flags.platform, "OS/ARCH[/VARIANT] to take from multi-platform images");
  icmd->footer("Examples (on the receiving machine):\n  docker_delta inventory app-v1.tar -o site.json\n"
               "  docker_delta inventory --all-tags docker://registry.site:5000/app -o site.json");
  icmd->callback([&state, inv] { state.action = [&state, inv] { return run_inventory(*inv, state.global); }; });
}

}  // namespace dd::cli
