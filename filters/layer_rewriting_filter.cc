#include "filters/layer_rewriting_filter.h"

#include "core/error.h"
#include "core/log.h"
#include "stores/spooled_layer.h"

namespace dd {

LayerRewritingFilter::LayerRewritingFilter(Stage& next, std::string name, const RunContext& ctx)
    : Filter(next), name_(std::move(name)), ctx_(ctx) {}

// Manifests are the next stage's call. Layers are all needed: each is rewritten, and what the
// next stage wants is unknowable until the new diff_id exists.
bool LayerRewritingFilter::fetch_callback(const Digest& digest, BlobKind kind) {
  return kind == BlobKind::layer ? true : next_.fetch_callback(digest, kind);
}

void LayerRewritingFilter::process_image_element(ElementType type, const std::string& name, ElementData& data) {
  switch (type) {
    case ElementType::config:
      config_ = data.config();  // held back until the new diff_ids are known
      return;
    case ElementType::layer:
      if (data.body() == nullptr)
        fail(Errc::bad_input, "{} needs every layer, but layer {} was skipped upstream", name_, data.layer().index + 1);
      rewrite_layer(data.layer(), *data.body());
      return;
    default:
      next_.process_image_element(type, name, data);
  }
}

void LayerRewritingFilter::rewrite_layer(const LayerInfo& info, LayerBody& body) {
  SpooledLayer spool(ctx_);  // on disk: a layer may be many GB
  const std::string done = write_layer(info, body, [&spool](const char* d, std::size_t n) { spool.write(d, n); });
  body.drain_and_verify();  // the source layer's own checks complete before its rewrite is used

  LayerInfo out = info;
  auto new_body = spool.finish(out);
  log::verbose("layer {}/{} {} -> {} ({})", info.index + 1, info.count, info.diff_id.short_str(), out.diff_id.short_str(),
               done);
  diff_ids_.push_back(out.diff_id);
  ElementData d = ElementData::of_layer(out, next_.fetch_callback(out.diff_id, BlobKind::layer) ? new_body.get() : nullptr);
  next_.process_image_element(ElementType::layer, out.diff_id.str(), d);
  if (d.body()) new_body->drain_and_verify();
}

void LayerRewritingFilter::finalize() {
  if (!config_) fail(Errc::internal, "{}: the image config never arrived", name_);
  const auto original = nlohmann::ordered_json::parse(*config_);  // already parsed within limits upstream
  auto doc = original;
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  for (const auto& d : diff_ids_) ids.push_back(d.str());
  doc["rootfs"]["diff_ids"] = ids;
  edit_config(doc);
  // Unchanged, the config goes on byte for byte: a re-serialised one could differ in spacing or
  // escapes, and so in image ID.
  const std::string config = doc == original ? *config_ : doc.dump();
  log::verbose("config {}: image ID {}", doc == original ? "unchanged" : "rewritten", Digest::sha256_of(config).short_str());
  ElementData d = ElementData::of_config(config);
  next_.process_image_element(ElementType::config, Digest::sha256_of(config).str(), d);
  next_.finalize();
}

}  // namespace dd
