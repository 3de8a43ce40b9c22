#include "pipeline/runner.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"

namespace dd {

nlohmann::json run_pipeline(const Registry& registry, const PipelineSpec& spec, RunContext& ctx) {
  try {
    return run_pipeline(registry, spec.source, spec.filters, registry.make_output(spec.destination, ctx), ctx);
  } catch (const RunAgainWith& again) {
    if (spec.source.argument == "-") throw;  // standard input cannot be read twice
    log::info("{}; running again", again.what());
    return run_pipeline(registry, spec.source, spec.filters, registry.make_output(again.destination(), ctx), ctx);
  }
}

nlohmann::json run_pipeline(const Registry& registry, const StageSpec& source, std::vector<StageSpec> filters,
                            std::unique_ptr<OutputStore> output, RunContext& ctx) {
  const auto given = std::find_if(filters.begin(), filters.end(), [](const StageSpec& s) { return s.kind == "platform"; });
  const bool has_platform = given != filters.end();
  if (has_platform && ctx.platform && !given->argument.empty() && Platform::parse(given->argument) != *ctx.platform)
    fail(Errc::usage, "--platform {} and --filter {} ask for different platforms", ctx.platform->str(), given->text());
  if (!has_platform) {
    StageSpec platform{"platform", ctx.platform ? ctx.platform->str() : "", {}};
    filters.insert(filters.begin(), platform);
  }
  // Wrap from the output backwards: the first filter ends up as the head of the chain.
  std::vector<std::unique_ptr<Filter>> chain;
  Stage* head = output.get();
  for (auto it = filters.rbegin(); it != filters.rend(); ++it) {
    chain.push_back(registry.make_filter(*it, *head, ctx));
    head = chain.back().get();
  }
  auto input = registry.make_input(source, ctx);
  input->run(*head);
  head->finalize();
  return output->result();
}

}  // namespace dd
