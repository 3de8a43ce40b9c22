#include "filters/exclude_filter.h"

#include <vector>

#include "core/error.h"
#include "delta/delta_layer_file.h"
#include "formats/archive/layer_tar_index.h"

namespace dd {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";

// The path a whiteout hides ("a/.wh.b" hides "a/b"); the opaque marker "a/.wh..wh..opq" stands
// for "a" itself. Any other path is itself.
std::string hidden_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::size_t name_at = slash == std::string::npos ? 0 : slash + 1;
  if (path.compare(name_at, kWhiteoutPrefix.size(), kWhiteoutPrefix) != 0) return path;
  const std::string dir = path.substr(0, name_at);
  const std::string hidden = path.substr(name_at + kWhiteoutPrefix.size());
  return hidden == ".wh..opq" ? dir : dir + hidden;
}

// Copies [from, to) of the layer to `out`, a block at a time.
void copy_range(const DeltaLayerFile& layer, std::uint64_t from, std::uint64_t to, const ByteSink& out,
                const std::string& what) {
  std::vector<char> block(std::min<std::uint64_t>(kBlockSize, to - from));
  for (std::uint64_t at = from; at < to;) {
    const std::uint64_t n = std::min<std::uint64_t>(block.size(), to - at);
    layer.read(at, n, block.data(), what);
    out(block.data(), static_cast<std::size_t>(n));
    at += n;
  }
}

}  // namespace

ExcludeFilter::ExcludeFilter(Stage& next, PathGlobs globs, const RunContext& ctx)
    : LayerRewritingFilter(next, "exclude", ctx), globs_(std::move(globs)) {}

std::string ExcludeFilter::write_layer(const LayerInfo& info, LayerBody& body, const ByteSink& out) {
  const std::string what = fmt::format("layer {}/{}", info.index + 1, info.count);
  // The layer in a file (in place when the source stores it so), checked before it is indexed.
  const DeltaLayerFile layer = hold_layer(body, info.diff_id, ctx().temp_dir);
  const LayerTarIndex index = index_layer_tar(*layer.file, layer.offset, layer.size, ctx().limits, what);
  std::size_t dropped = 0;
  std::uint64_t end = 0;
  for (const auto& m : index.members) {
    const bool drop = globs_.matches(hidden_path(m.path)) || (!m.link_target.empty() && globs_.matches(m.link_target));
    if (drop) ++dropped;
    else copy_range(layer, m.header_offset, m.end_offset, out, what);
    end = m.end_offset;
  }
  copy_range(layer, end, layer.size, out, what);  // the end-of-archive blocks, as they were
  return fmt::format("{} entr{} excluded", dropped, dropped == 1 ? "y" : "ies");
}

void register_exclude_filter(Registry& registry) {
  registry.add_filter("exclude", "exclude:GLOB[,GLOB...]",
                      "leave matching paths out of every layer ('*.pyc', 'usr/share/doc'); diff_ids and image ID follow",
                      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
                        check_options(spec, {});
                        return std::make_unique<ExcludeFilter>(next, PathGlobs(spec.argument, "exclude"), ctx);
                      });
}

}  // namespace dd
