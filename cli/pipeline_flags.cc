#include "cli/cli_state.h"

namespace dd::cli {

void add_pipeline_flags(CLI::App& cmd, PipelineFlags& flags, bool writes_output) {
  cmd.add_option("--platform", flags.platform, "OS/ARCH[/VARIANT] to take from a multi-platform index (default: this host's)");
  cmd.add_option("--max-expansion", flags.max_expansion,
                 "how many times its compressed size a stream may expand to (0: no limit)")
      ->check(CLI::Range(0, 1000000000));
  if (!writes_output) return;
  cmd.add_option("--filter", flags.filters, "a filter stage, e.g. platform:linux/arm64 (repeatable)");
  cmd.add_option("--compress", flags.compress, "layer compression of an OCI destination: none, gzip or zstd (default: as the source)")
      ->check(CLI::IsMember({"none", "gzip", "zstd"}));
  cmd.add_flag("-f,--force", flags.force, "replace an existing destination");
}

RunContext make_context(const PipelineFlags& flags, const GlobalFlags& global, Progress& progress) {
  RunContext ctx;
  ctx.force = flags.force;
  if (!flags.platform.empty()) ctx.platform = Platform::parse(flags.platform);
  ctx.limits.expansion.ratio = flags.max_expansion;
  progress = Progress(Progress::stderr_is_terminal() && !global.quiet && !global.json);
  ctx.progress = &progress;
  return ctx;
}

}  // namespace dd::cli
