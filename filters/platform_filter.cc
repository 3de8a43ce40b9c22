#include "filters/platform_filter.h"

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "formats/image/manifest_parser.h"

namespace dd {

PlatformFilter::PlatformFilter(Stage& next, Platform wanted, bool explicit_request, const Limits& limits)
    : Filter(next), wanted_(std::move(wanted)), explicit_(explicit_request), limits_(limits) {}

bool PlatformFilter::fetch_callback(const Digest& digest, BlobKind kind) {
  if (kind == BlobKind::manifest && std::find(index_digests_.begin(), index_digests_.end(), digest) != index_digests_.end())
    return chosen_ && *chosen_ == digest && next_.fetch_callback(digest, kind);
  return next_.fetch_callback(digest, kind);
}

void PlatformFilter::choose(const IndexInfo& index) {
  for (const auto& e : index.entries) index_digests_.push_back(e.manifest.digest);
  if (index.entries.size() == 1 && !index.entries[0].platform) {
    chosen_ = index.entries[0].manifest.digest;  // a plain single-image layout: checked at the config
    return;
  }
  // The default variant first (linux/arm takes v7 over v6, as docker does), then any that fits.
  for (bool exact : {true, false}) {
    for (const auto& e : index.entries) {
      if (e.platform && (exact ? wanted_.matches_exactly(*e.platform) : wanted_.matches(*e.platform))) {
        chosen_ = e.manifest.digest;
        chosen_has_platform_ = true;
        log::verbose("platform {}: image {}", e.platform->str(), e.manifest.digest.short_str());
        return;
      }
    }
  }
  if (index.entries.size() == 1 && !explicit_) {
    chosen_ = index.entries[0].manifest.digest;  // one image of another platform: pass it, as docker does
    chosen_has_platform_ = true;
    return;
  }
  std::set<std::string> platforms;
  for (const auto& e : index.entries)
    if (e.platform) platforms.insert(e.platform->str());
  std::string present;
  std::size_t listed = 0;
  for (const auto& p : platforms) {
    if (++listed > 16) {
      present += fmt::format(" and {} more", platforms.size() - 16);
      break;
    }
    present += (present.empty() ? "" : ", ") + p;
  }
  fail(Errc::not_found, "no image for platform {} in the index (it has: {}); choose one with --platform",
       wanted_.str(), present.empty() ? "no platforms named" : present);
}

void PlatformFilter::process_image_element(ElementType type, const std::string& name, ElementData& data) {
  if (type == ElementType::index) choose(data.index());
  if (type == ElementType::config && explicit_ && !chosen_has_platform_) {
    const Platform actual = parse_config(data.config(), limits_).platform;
    if (!wanted_.matches(actual))
      fail(Errc::not_found, "the image is for platform {}, not {}", actual.str(), wanted_.str());
  }
  next_.process_image_element(type, name, data);
}

void register_platform_filter(Registry& registry) {
  registry.add_filter("platform", "platform:OS/ARCH[/VARIANT]",
                      "choose one image of a multi-platform index (default: the host's platform)",
                      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
                        check_options(spec, {});
                        const bool explicit_request = !spec.argument.empty();
                        const Platform wanted = explicit_request ? Platform::parse(spec.argument) : Platform::host();
                        return std::make_unique<PlatformFilter>(next, wanted, explicit_request, ctx.limits);
                      });
}

}  // namespace dd
