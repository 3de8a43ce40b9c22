// `inspect SOURCE`: manifest kind, image ID, platforms, and each layer's digests, size and
// compression, read without touching layer bodies (unless --verify).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/builtin_stages.h"
#include "cli/cli_state.h"
#include "cli/inspect_sink.h"
#include "core/printable.h"
#include "core/progress.h"
#include "inputs/archive_input.h"
#include "pipeline/runner.h"

namespace dd::cli {
namespace {

struct InspectArgs {
  std::string source;
  bool verify = false;
  PipelineFlags flags;
};

void print_human(const nlohmann::json& r) {
  std::uint64_t total = 0;
  for (const auto& l : r["layers"]) total += l.value("size", std::uint64_t{0});
  // Platforms, tags and the source text come from the image (or the command line that named
  // it): each goes through printable() so no byte of it reaches the terminal raw.
  std::string platforms;
  for (const auto& p : r["platforms"]) platforms += (platforms.empty() ? "" : ", ") + printable(p.get<std::string>());
  std::string tags;
  for (const auto& t : r["repo_tags"]) tags += (tags.empty() ? "" : ", ") + printable(t.get<std::string>());
  const std::size_t absent = r.value("absent_layers", std::size_t{0});
  std::cout << fmt::format("source:     {}\n", printable(r.value("source", "")))
            << fmt::format("kind:       {}\n", r.value("manifest_kind", ""))
            << fmt::format("image ID:   {}\n", r.value("image_id", ""))
            << fmt::format("platform:   {}   (available: {})\n", printable(r.value("platform", "")), platforms)
            << fmt::format("tags:       {}\n", tags.empty() ? "-" : tags)
            << fmt::format("layers:     {}, {} stored (diff_id, size, compression){}\n", r["layers"].size(), human_bytes(total),
                           absent ? fmt::format("; {} absent from the source", absent) : "");
  int i = 0;
  for (const auto& l : r["layers"]) {
    // The stored digest is worth a line only when it differs from the diff_id (compressed layers).
    const std::string diff_id = l.value("diff_id", "");
    const std::string stored = l["digest"].is_null() ? "" : l["digest"].get<std::string>();
    const bool present = l.value("present", true);
    std::cout << fmt::format("  {:>2}  {}  {:>10}  {}\n", ++i, diff_id, human_bytes(l.value("size", std::uint64_t{0})),
                             present ? l.value("compression", "") : std::string("absent"));
    if (!stored.empty() && stored != diff_id) std::cout << fmt::format("      stored as {}\n", stored);
  }
}

}  // namespace

void add_inspect_command(CLI::App& app, CliState& state) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Show an image: manifest kind, image ID, platforms, layers");
  cmd->add_option("SOURCE", args->source, "an archive, an OCI directory, or a spec like oci:DIR:REF")->required();
  cmd->add_flag("--verify", args->verify, "read every layer and check its digests");
  add_pipeline_flags(*cmd, args->flags, false);
  cmd->footer("Examples:\n  docker_delta inspect app.tar\n  docker_delta inspect oci:multi.d --platform linux/arm64 --json");
  cmd->callback([&state, args] {
    state.action = [&state, args] {
      const Registry& registry = builtin_registry();
      const StageSpec source = parse_stage_spec(qualify_source(args->source, registry));
      Progress progress(false);
      RunContext ctx = make_context(args->flags, state.global, progress);
      auto sink = std::make_unique<InspectSink>(source.text(), args->verify);
      const nlohmann::json result = run_pipeline(registry, source, {}, std::move(sink), ctx);
      // Strings from the image may hold ill-formed UTF-8: replaced, not a dump() exception.
      if (state.global.json) std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      else print_human(result);
      return 0;
    };
  });
}

}  // namespace dd::cli
