#include "filters/normalize_timestamps_filter.h"

#include <archive_entry.h>

#include <charconv>
#include <ctime>

#include "core/error.h"
#include "formats/archive/tar_rewriter.h"

namespace dd {

NormalizeTimestampsFilter::NormalizeTimestampsFilter(Stage& next, long long epoch, const RunContext& ctx)
    : LayerRewritingFilter(next, "normalize-timestamps", ctx), epoch_(epoch) {}

std::string NormalizeTimestampsFilter::write_layer(const LayerInfo& info, LayerBody& body, const ByteSink& out) {
  const long long epoch = epoch_;
  rewrite_tar(
      body.uncompressed(),
      [epoch](archive_entry* e) {
        archive_entry_set_mtime(e, static_cast<time_t>(epoch), 0);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
        return true;
      },
      out, fmt::format("layer {}/{}", info.index + 1, info.count));
  return fmt::format("timestamps set to {}", epoch_);
}

void NormalizeTimestampsFilter::edit_config(nlohmann::ordered_json& doc) const {
  char when[32];
  const std::time_t t = static_cast<std::time_t>(epoch_);
  std::tm utc{};
  if (gmtime_r(&t, &utc) == nullptr) fail(Errc::usage, "normalize-timestamps: {} is not a representable time", epoch_);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  if (doc.contains("created")) doc["created"] = when;
  if (doc.contains("history") && doc["history"].is_array())
    for (auto& h : doc["history"])
      if (h.is_object() && h.contains("created")) h["created"] = when;
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
