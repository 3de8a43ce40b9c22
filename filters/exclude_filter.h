// Filter "exclude:GLOB[,GLOB...]": leaves the matching paths out of every layer (path_glob.h
// says what a GLOB names). A whiteout of a matching path goes too, and so does a hard link to a
// matching file, which would otherwise point at nothing. Every member that stays is copied byte
// for byte, so a layer with nothing to leave out keeps its diff_id (and stays shared with other
// images); diff_ids and the image ID follow the rest (layer_rewriting_filter.h).
#pragma once

#include "filters/layer_rewriting_filter.h"
#include "formats/archive/path_glob.h"
#include "pipeline/registry.h"

namespace dd {

class ExcludeFilter : public LayerRewritingFilter {
 public:
  ExcludeFilter(Stage& next, PathGlobs globs, const RunContext& ctx);

 private:
  std::string write_layer(const LayerInfo& info, LayerBody& body, const ByteSink& out) override;

  PathGlobs globs_;
};

void register_exclude_filter(Registry& registry);

}  // namespace dd
