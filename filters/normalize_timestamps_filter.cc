#include "filters/normalize_timestamps_filter.h"

#include <archive_entry.h>

#include <charconv>
#include <ctime>

#include "core/error.h"
#include "core/log.h"
#include "formats/archive/tar_rewriter.h"
#include "formats/image/manifest_parser.h"
#include "stores/spooled_layer.h"

namespace dd {

NormalizeTimestampsFilter::NormalizeTimestampsFilter(Stage& next, long long epoch, const RunContext& ctx)
    : Filter(next), epoch_(epoch), ctx_(ctx) {}

// Manifests are the next stage's call. Layers are all needed: each is rewritten, and what the
// next stage wants is unknowable until the new diff_id exists.
bool NormalizeTimestampsFilter::fetch_callback(const Digest& digest, BlobKind kind) {
  return kind == BlobKind::layer ? true : next_.fetch_callback(digest, kind);
}

void NormalizeTimestampsFilter::process_image_element(ElementType type, const std::string& name, ElementData& data) {
  switch (type) {
    case ElementType::config:
      config_ = data.config();  // held back until the new diff_ids are known
      return;
    case ElementType::layer:
      if (data.body() == nullptr)
        fail(Errc::bad_input, "normalize-timestamps needs every layer, but layer {} was skipped upstream", data.layer().index + 1);
      rewrite_layer(data.layer(), *data.body());
      return;
    default:
      next_.process_image_element(type, name, data);
  }
}

void NormalizeTimestampsFilter::rewrite_layer(const LayerInfo& info, LayerBody& body) {
  // The new layer goes to a temporary file: its diff_id is known only when all of it exists.
  SpooledLayer spool(ctx_);
  const long long epoch = epoch_;
  rewrite_tar(
      body.uncompressed(),
      [epoch](archive_entry* e) {
        archive_entry_set_mtime(e, static_cast<time_t>(epoch), 0);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
      },
      [&spool](const char* d, std::size_t n) { spool.write(d, n); },
      fmt::format("layer {}/{}", info.index + 1, info.count));
  body.drain_and_verify();  // the source layer's own checks complete before its rewrite is used

  LayerInfo out = info;
  auto new_body = spool.finish(out);
  log::verbose("layer {}/{} {} -> {} (timestamps set to {})", info.index + 1, info.count, info.diff_id.short_str(),
               out.diff_id.short_str(), epoch_);
  diff_ids_.push_back(out.diff_id);
  ElementData d = ElementData::of_layer(out, next_.fetch_callback(out.diff_id, BlobKind::layer) ? new_body.get() : nullptr);
  next_.process_image_element(ElementType::layer, out.diff_id.str(), d);
  if (d.body()) new_body->drain_and_verify();
}

std::string NormalizeTimestampsFilter::rewrite_config() const {
  auto doc = nlohmann::ordered_json::parse(*config_);  // already parsed within limits upstream
  nlohmann::ordered_json ids = nlohmann::ordered_json::array();
  for (const auto& d : diff_ids_) ids.push_back(d.str());
  doc["rootfs"]["diff_ids"] = ids;
  char when[32];
  const std::time_t t = static_cast<std::time_t>(epoch_);
  std::tm utc{};
  if (gmtime_r(&t, &utc) == nullptr) fail(Errc::usage, "normalize-timestamps: {} is not a representable time", epoch_);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (doc.contains("created")) doc["created"] = when;
  if (doc.contains("history") && doc["history"].is_array())
    for (auto& h : doc["history"])
      if (h.is_object() && h.contains("created")) h["created"] = when;
  return doc.dump();
}

void NormalizeTimestampsFilter::finalize() {
  if (!config_) fail(Errc::internal, "normalize-timestamps: the image config never arrived");
  const std::string config = rewrite_config();
  log::verbose("config rewritten: image ID {}", Digest::sha256_of(config).short_str());
  ElementData d = ElementData::of_config(config);
  next_.process_image_element(ElementType::config, Digest::sha256_of(config).str(), d);
  next_.finalize();
}

void register_normalize_timestamps_filter(Registry& registry) {
  registry.add_filter(
      "normalize-timestamps", "normalize-timestamps[:EPOCH]",
      "set every file time and the config's created times to EPOCH (default 0); diff_ids and image ID follow",
      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
        check_options(spec, {});
        long long epoch = 0;
        if (!spec.argument.empty()) {
          const auto* end = spec.argument.data() + spec.argument.size();
          auto [ptr, ec] = std::from_chars(spec.argument.data(), end, epoch);
          // Up to 9999-12-31T23:59:59Z: the config's RFC 3339 times have four-digit years.
          if (ec != std::errc() || ptr != end || epoch < 0 || epoch > 253402300799LL)
            fail(Errc::usage, "normalize-timestamps takes seconds since 1970 up to 253402300799, not '{}'", spec.argument);
        }
        return std::make_unique<NormalizeTimestampsFilter>(next, epoch, ctx);
      });
}

}  // namespace dd
