#include "delta/layer_payload.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "core/error.h"
#include "core/temp_file.h"

namespace dd {
namespace {

struct GiveUp {};

LayerPayload hash_payload(std::shared_ptr<UniqueFd> fd) {
  const off_t end = ::lseek(fd->get(), 0, SEEK_END);
  if (end < 0) fail_errno("temporary payload file");
  FileRangeStream bytes(fd, 0, static_cast<std::uint64_t>(end), "temporary payload file");
  Hasher h;
  copy_stream(bytes, [&](const char* p, std::size_t n) { h.update(p, n); });
  LayerPayload payload;
  payload.file = std::move(fd);
  payload.size = static_cast<std::uint64_t>(end);
  payload.digest = h.finish();
  return payload;
}

}  // namespace

PayloadSettings payload_settings(const StageSpec& spec) {
  PayloadSettings settings;
  if (auto it = spec.options.find("compression"); it != spec.options.end()) {
    const auto compression = compression_named(it->second);
    if (!compression) fail(Errc::usage, "unknown compression '{}' (none, gzip, zstd, bzip2, xz)", it->second);
    settings.compression = *compression;
  }
  if (auto it = spec.options.find("compression-level"); it != spec.options.end()) {
    const std::string& text = it->second;
    int level = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), level);
    if (ec != std::errc() || end != text.data() + text.size() || level < -7 || level > 22)
      fail(Errc::usage, "compression-level must be a number from -7 to 22, not '{}'", text);
    settings.level = level;
  }
  return settings;
}

std::unique_ptr<Compressor> make_payload_compressor(Compression c, int level) {
  switch (c) {
    // ISA-L has levels 0-3; gzip's 1-9 map onto them.
    case Compression::gzip: return make_compressor(c, level == 0 ? 0 : std::clamp((level + 2) / 3, 1, 3));
    default: return make_compressor(c, level);
  }
}

std::optional<LayerPayload> compress_whole_layer(ByteStream& uncompressed, const PayloadSettings& settings,
                                                 const RunContext& ctx, std::optional<std::uint64_t> give_up_above) {
  auto fd = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx.temp_dir));
  auto compressor = make_payload_compressor(settings.compression, settings.level);
  std::uint64_t written = 0;
  const ByteSink sink = [&](const char* p, std::size_t n) {
    written += n;
    if (give_up_above && written > *give_up_above) throw GiveUp{};
    write_all(fd->get(), p, n, "temporary payload file");
  };
  try {
    copy_stream(uncompressed, [&](const char* p, std::size_t n) { compressor->feed(p, n, sink); });
    compressor->finish(sink);
  } catch (const GiveUp&) {
    return std::nullopt;
  }
  LayerPayload payload = hash_payload(std::move(fd));
  payload.is_delta = false;
  payload.method = "layer";
  payload.compression = settings.compression;
  return payload;
}

LayerPayload make_payload(const RunContext& ctx, const std::function<void(int fd)>& write) {
  auto fd = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx.temp_dir));
  write(fd->get());
  return hash_payload(std::move(fd));
}

}  // namespace dd
