#include "stores/spooled_layer.h"

#include "core/error.h"
#include "core/temp_file.h"
#include "stores/verified_layer_body.h"

namespace dd {

SpooledLayer::SpooledLayer(const RunContext& ctx)
    : ctx_(ctx), fd_(std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx.temp_dir))) {}

void SpooledLayer::write(const char* data, std::size_t size) {
  write_all(fd_->get(), data, size, "temporary layer file");
  hasher_.update(data, size);
}

std::unique_ptr<LayerBody> SpooledLayer::finish(LayerInfo& info) {
  const std::uint64_t size = hasher_.bytes();
  info.diff_id = hasher_.finish();
  info.compression = Compression::none;
  info.stored.digest = info.diff_id;
  info.stored.size = size;
  info.stored.media_type = media_type::kOciLayer;
  info.source = info.stored;
  info.source_compression = Compression::none;
  auto bytes = std::make_unique<FileRangeStream>(fd_, 0, size, "temporary layer file");
  return std::make_unique<VerifiedLayerBody>(std::move(bytes), info, ctx_.limits, nullptr);
}

}  // namespace dd
