// Filter "normalize-timestamps[:EPOCH]": sets every file time in every layer, and the config's
// created times, to EPOCH (default 0), so equal content gives equal layers. diff_ids and the
// image ID follow (layer_rewriting_filter.h).
#pragma once

#include "filters/layer_rewriting_filter.h"
#include "pipeline/registry.h"

namespace dd {

class NormalizeTimestampsFilter : public LayerRewritingFilter {
 public:
  NormalizeTimestampsFilter(Stage& next, long long epoch, const RunContext& ctx);

 private:
  std::string write_layer(const LayerInfo& info, LayerBody& body, const ByteSink& out) override;
  void edit_config(nlohmann::ordered_json& config) const override;

  long long epoch_;
};

void register_normalize_timestamps_filter(Registry& registry);

}  // namespace dd
