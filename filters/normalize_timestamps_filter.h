// Filter "normalize-timestamps[:EPOCH]": sets every file time in every layer, and the config's
// created times, to EPOCH (default 0), so equal content gives equal layers. It changes layer
// bytes, so it holds the config back and sends it after the layers with rootfs.diff_ids (and so
// the image ID) recomputed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pipeline/registry.h"

namespace dd {

class NormalizeTimestampsFilter : public Filter {
 public:
  NormalizeTimestampsFilter(Stage& next, long long epoch, const RunContext& ctx);
  bool fetch_callback(const Digest& digest, BlobKind kind) override;
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override;
  void finalize() override;

 private:
  void rewrite_layer(const LayerInfo& info, LayerBody& body);
  std::string rewrite_config() const;

  long long epoch_;
  const RunContext& ctx_;
  std::optional<std::string> config_;
  std::vector<Digest> diff_ids_;
};

void register_normalize_timestamps_filter(Registry& registry);

}  // namespace dd
