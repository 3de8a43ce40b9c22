// What every filter that edits the files of each layer shares: each new layer is written to a
// spool (its diff_id is known only at its end) and handed on from there; the config is held back
// and sent after the layers with rootfs.diff_ids (and so the image ID) recomputed. A subclass
// writes each new layer, and may edit the config further.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/byte_stream.h"
#include "pipeline/run_context.h"
#include "pipeline/stage.h"

namespace dd {

class LayerRewritingFilter : public Filter {
 public:
  LayerRewritingFilter(Stage& next, std::string name, const RunContext& ctx);
  bool fetch_callback(const Digest& digest, BlobKind kind) override;
  void process_image_element(ElementType type, const std::string& name, ElementData& data) override;
  void finalize() override;

 protected:
  // Reads `body` (the layer `info`) and writes the new layer's tar to `out`; returns what the
  // verbose line says was done. The body's checks complete after it returns.
  virtual std::string write_layer(const LayerInfo& info, LayerBody& body, const ByteSink& out) = 0;
  // Further edits of the config, after rootfs.diff_ids is set.
  virtual void edit_config(nlohmann::ordered_json&) const {}
  const RunContext& ctx() const { return ctx_; }

 private:
  void rewrite_layer(const LayerInfo& info, LayerBody& body);

  std::string name_;
  const RunContext& ctx_;
  std::optional<std::string> config_;
  std::vector<Digest> diff_ids_;
};

}  // namespace dd
