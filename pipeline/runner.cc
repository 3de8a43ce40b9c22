#include "pipeline/runner.h"

#include <algorithm>

namespace dd {

nlohmann::json run_pipeline(const Registry& registry, const PipelineSpec& spec, RunContext& ctx) {
  return run_pipeline(registry, spec.source, spec.filters, registry.make_output(spec.destination, ctx), ctx);
}

nlohmann::json run_pipeline(const Registry& registry, const StageSpec& source, std::vector<StageSpec> filters,
                            std::unique_ptr<OutputStore> output, RunContext& ctx) {
  const bool has_platform = std::any_of(filters.begin(), filters.end(),
                                        [](const StageSpec& s) { return s.kind == "platform"; });
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
