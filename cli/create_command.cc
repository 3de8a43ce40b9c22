// create (and archive-to-delta, docker-to-delta): a delta package of an image, holding only what
// the receiver lacks.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <set>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "core/error.h"
#include "core/printable.h"
#include "core/progress.h"
#include "delta/delta_method.h"
#include "delta/delta_package.h"
#include "delta/receiver.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"

namespace dd::cli {
namespace {

struct CreateArgs {
  std::string image;
  std::string package;
  PipelineFlags flags;
  std::string method{delta_methods().front()->name()};
  std::string compression = "zstd";
  std::optional<int> level;
  bool best = false;
  bool dry_run = false;
  bool no_verify = false;
};

int run_create(const CreateArgs& args, const char* source_kind, const GlobalFlags& global) {
  Progress progress(false);
  RunContext ctx = make_context(args.flags, global, progress);
  // Whole layers are compressed by the delta filter (to compare with a delta) and by the delta
  // output (layers no filter encoded): both take the same options.
  std::map<std::string, std::string> payload{{"compression", args.compression}};
  if (args.level) payload["compression-level"] = std::to_string(*args.level);
  else if (args.best) payload["compression-level"] = args.compression == "zstd" ? "19" : "9";

  PipelineSpec spec;
  spec.source = source_spec(args.image, source_kind);
  for (const auto& f : args.flags.filters) spec.filters.push_back(parse_stage_spec(f));
  if (ctx.receiver) spec.filters.push_back({"dedupe", "", {}});
  if (args.method != "layer" && ctx.receiver && ctx.receiver->bases) {
    StageSpec delta{"delta", args.method, payload};
    const int delta_level = args.level ? *args.level : args.best ? 19 : kDefaultDeltaLevel;
    delta.options["level"] = std::to_string(std::clamp(delta_level, -7, 22));
    spec.filters.push_back(delta);
  } else if (args.method != "layer" && !global.quiet) {
    std::cerr << "docker_delta: no --base image: changed layers ship whole (give --base OLD for deltas)\n";
  }
  spec.destination = {"delta", args.package, payload};
  if (args.dry_run) spec.destination.options["dry-run"] = "1";
  if (args.no_verify) spec.destination.options["no-verify"] = "1";
  const nlohmann::json result = run_pipeline(builtin_registry(), spec, ctx);

  if (global.json) {
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (global.quiet) return 0;
  std::map<std::string, int> counts;
  for (const auto& l : result["layer_list"]) counts[l["ship"].get<std::string>()]++;
  const std::uint64_t bytes = result["bytes"].get<std::uint64_t>();
  std::string saving;
  if (result.contains("source_bytes") && result["source_bytes"].get<std::uint64_t>() > 0)
    saving = fmt::format(", {:.1f}% of the image's {}", 100.0 * double(bytes) / double(result["source_bytes"].get<std::uint64_t>()),
                         human_bytes(result["source_bytes"].get<std::uint64_t>()));
  if (args.dry_run) {
    std::cout << fmt::format("would write {}: image {}\n", args.package, result["image_id"].get<std::string>());
    std::size_t i = 0;
    for (const auto& l : result["layer_list"]) {
      std::string how = l["ship"].get<std::string>();
      if (l.contains("method")) how += " (" + (l.contains("compression") ? l["compression"].get<std::string>() : l["method"].get<std::string>()) + ")";
      std::cout << fmt::format("  layer {:>2}  {}  {:<14}  {:>10}\n", ++i, Digest::parse(l["diff_id"].get<std::string>()).short_str(), how,
                               human_bytes(l["payload_bytes"].get<std::uint64_t>()));
    }
  }
  std::cout << fmt::format("{} {}: {} layers ({} reused, {} delta, {} whole), {}{}\n", args.dry_run ? "would be" : "wrote",
                           args.package, result["layers"].get<std::size_t>(), counts["reused"], counts["delta"],
                           counts["full"], human_bytes(bytes), saving);
  return 0;
}

void add_create(CLI::App& app, CliState& state, const char* name, const char* summary, const char* source_kind) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* cmd = app.add_subcommand(name, summary);
  cmd->add_option("IMAGE", args->image, "the new image: an archive, oci:DIR, oci-archive:PATH ...")->required();
  cmd->add_option("PACKAGE", args->package, "the package file to write")->required();
  add_receiver_flags(*cmd, args->flags, true);
  std::vector<std::string> methods;
  for (const DeltaMethod* m : delta_methods()) methods.emplace_back(m->name());
  methods.emplace_back("layer");
  cmd->add_option("-m,--method", args->method,
                  "how changed layers ship: " + std::string(delta_methods().front()->name()) + " (default), " +
                      delta_method_list().substr(delta_methods().front()->name().size() + 2) + ", or layer (no delta)")
      ->check(CLI::IsMember(methods));
  cmd->add_option("-c,--compression", args->compression, "for layers that ship whole: zstd (default), gzip, bzip2, xz, none")
      ->check(CLI::IsMember({"zstd", "gzip", "bzip2", "xz", "none"}));
  cmd->add_option("-l,--level", args->level, "compression level (zstd: -7..22, negative is fast; others 1..9); default: 12 for deltas, 3 for whole layers")
      ->check(CLI::Range(-7, 22));
  cmd->add_flag("--best", args->best, "smallest package: zstd level 19 for deltas and whole layers (slower)");
  cmd->add_flag("-d,--dry-run", args->dry_run, "show what would ship and how big; write nothing");
  cmd->add_flag("--no-verify", args->no_verify, "skip decoding the package back before it is renamed into place");
  cmd->add_option("--platform", args->flags.platform, "OS/ARCH[/VARIANT] to take from a multi-platform image");
  cmd->add_option("--filter", args->flags.filters, "an extra filter stage before dedupe and delta (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("-f,--force", args->flags.force, "replace an existing package");
  add_host_flag(*cmd, args->flags);
  cmd->footer(
      "Examples:\n"
      "  docker_delta create --base app-v1.tar app-v2.tar app-v1-to-v2.ddelta\n"
      "  docker_delta create --base oci:app.d:v1 oci:app.d:v2 update.ddelta --best\n"
      "  docker_delta create --inventory site.json app-v2.tar update.ddelta -m layer\n"
      "  docker_delta create --base app-v1.tar app-v2.tar x.ddelta --dry-run");
  cmd->callback([&state, args, source_kind] {
    state.action = [&state, args, source_kind] { return run_create(*args, source_kind, state.global); };
  });
}

}  // namespace

void add_create_commands(CLI::App& app, CliState& state) {
  add_create(app, state, "create", "Make a delta package of IMAGE: only what the receiver lacks", nullptr);
  add_create(app, state, "archive-to-delta", "Same as create, IMAGE read as an archive (docker or OCI)", "archive");
  add_create(app, state, "docker-to-delta", "Same as create, IMAGE (and bare --base names) read from the docker daemon", "docker-daemon");
}

}  // namespace dd::cli
