#include "stores/spooled_layer.h"

#include "core/error.h"
#include "stores/verified_layer_body.h"

namespace dd {

SpooledLayer::SpooledLayer(const RunContext& ctx) : ctx_(ctx), spool_(ctx.temp_dir) {}

void SpooledLayer::write(const char* data, std::size_t size) { spool_.write(data, size); }

std::unique_ptr<LayerBody> SpooledLayer::finish(LayerInfo& info) {
  const HashingSpool::Result spooled = spool_.finish();
  const std::uint64_t size = spooled.size;
  info.diff_id = spooled.digest;
  info.compression = Compression::none;
  info.stored.digest = info.diff_id;
  info.stored.size = size;
  info.stored.media_type = media_type::kOciLayer;
  info.source = info.stored;
  info.source_compression = Compression::none;
  auto bytes = std::make_unique<FileRangeStream>(spooled.file, 0, size, "temporary layer file");
  return std::make_unique<VerifiedLayerBody>(std::move(bytes), info, ctx_.limits, nullptr);
}

}  // namespace dd
