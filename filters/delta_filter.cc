#include "filters/delta_filter.h"

#include <charconv>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/temp_file.h"
#include "delta/external_delta.h"
#include "delta/layer_payload.h"
#include "delta/receiver.h"
#include "delta/tar_delta.h"
#include "stores/checked_file_layer_body.h"

namespace dd {
namespace {

class DeltaFilter : public Filter {
 public:
  DeltaFilter(Stage& next, std::string method, TarDeltaSettings settings, PayloadSettings payload, const RunContext& ctx)
      : Filter(next), method_(std::move(method)), settings_(settings), payload_(payload), ctx_(ctx) {}

  // Asked about layers once the input has found its image and before it reads one: the bases
  // are read from here on, while the input reads the new image, not after it.
  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    const bool wanted = next_.fetch_callback(digest, kind);
    if (wanted && kind == BlobKind::layer && ctx_.receiver && ctx_.receiver->bases) ctx_.receiver->bases->prefetch_all_layers();
    return wanted;
  }

  void process_image_element(ElementType type, const std::string& name, ElementData& data) override {
    if (type != ElementType::layer || data.body == nullptr || !ctx_.receiver->bases) {
      next_.process_image_element(type, name, data);
      return;
    }
    LayerInfo info = *data.layer;
    DeltaLayerFile layer = spool(info, *data.body);
    LayerPayload payload = encode(info, layer);
    // The body passes on as plain tar from the file it now lies in, checked on the way in.
    info.compression = Compression::none;
    info.stored = Descriptor{media_type::kOciLayer, info.diff_id, layer.size, {}, {}};
    info.source = info.stored;
    info.source_compression = Compression::none;
    CheckedFileLayerBody body(layer.file, layer.offset, layer.size, "layer " + info.diff_id.short_str());
    ElementData forwarded = data;
    forwarded.layer = &info;
    forwarded.body = &body;
    forwarded.payload = &payload;
    next_.process_image_element(type, name, forwarded);
    body.drain_and_verify();
  }

 private:
  DeltaLayerFile spool(const LayerInfo& info, LayerBody& body) {
    // A layer already held uncompressed in a file (a docker archive, a daemon's spool) is
    // checked and used where it lies.
    if (auto slice = body.plain_file()) {
      body.drain_and_verify();
      return DeltaLayerFile{info.diff_id, slice->file, slice->size, nullptr, slice->offset};
    }
    auto fd = std::make_shared<UniqueFd>(make_unlinked_temp_file(ctx_.temp_dir));
    const std::uint64_t size = copy_stream(body.uncompressed(), [&](const char* p, std::size_t n) {
      write_all(fd->get(), p, n, "temporary layer file");
    });
    body.drain_and_verify();
    return DeltaLayerFile{info.diff_id, fd, size, nullptr};
  }

  TarDeltaEncoder& encoder() {
    if (!encoder_) encoder_ = std::make_unique<TarDeltaEncoder>(ctx_.receiver->bases->all_layers(), ctx_.limits);
    return *encoder_;
  }

  LayerPayload encode(const LayerInfo& info, DeltaLayerFile& layer) {
    const std::string what = fmt::format("layer {}/{} {}", info.index + 1, info.count, info.diff_id.short_str());
    std::optional<LayerPayload> delta;
    try {
      layer.index = std::make_shared<LayerTarIndex>(index_layer_tar(*layer.file, layer.offset, layer.size, ctx_.limits, what));
      if (encoder().bases().empty()) throw Error(Errc::not_found, "no base layers");
      delta = make_delta(layer, what);
    } catch (const Error& e) {
      // A layer that is not a tar we can read, or no base: it ships whole, which is always valid.
      if (e.code() == Errc::unsupported) throw;
      log::verbose("{}: no delta ({}); shipping it whole", what, e.what());
    }
    FileRangeStream bytes(layer.file, layer.offset, layer.size, "temporary layer file");
    std::optional<LayerPayload> whole =
        compress_whole_layer(bytes, payload_, ctx_, delta ? std::optional(delta->size) : std::nullopt);
    if (whole) {
      log::verbose("{}: whole, {} compressed {}{}", what, to_string(whole->compression), human_bytes(whole->size),
                   delta ? fmt::format(" (the {} delta was {})", method_, human_bytes(delta->size)) : "");
      return *whole;
    }
    log::verbose("{}: {} delta {} against {} base layer(s), {} uncompressed", what, method_, human_bytes(delta->size),
                 delta->bases.size(), human_bytes(layer.size));
    return *delta;
  }

  LayerPayload make_delta(const DeltaLayerFile& layer, const std::string& what) {
    if (method_ == "zstd") {
      TarDeltaEncoder::Result result;
      LayerPayload p = make_payload(ctx_, [&](int fd) {
        result = encoder().encode(layer, settings_, [&](const char* d, std::size_t n) { write_all(fd, d, n, "temporary payload file"); });
      });
      const auto& s = result.stats;
      log::verbose("{}: file bytes unchanged {}, changed at the same path {}, by name {}, new {}; gzip files sent decompressed {}", what,
                   human_bytes(s.exact_bytes), human_bytes(s.path_bytes), human_bytes(s.name_bytes),
                   human_bytes(s.unmatched_bytes), human_bytes(s.gzip_bytes));
      // A layer whose files match nothing in the bases reads no base: that is no delta, and a
      // package may not name a delta without bases. It ships whole.
      if (result.bases.empty()) throw Error(Errc::not_found, "nothing in it matches the base layers");
      p.bases = result.bases;
      p.method = method_;
      return p;
    }
    const DeltaLayerFile& base = encoder().bases()[encoder().most_similar_base(layer)];
    LayerPayload p = make_payload(ctx_, [&](int fd) {
      if (method_ == "xdelta3") xdelta3_encode(base, layer, fd);
      else bsdiff_encode(base, layer, fd);
    });
    p.bases = {base.diff_id};
    p.method = method_;
    return p;
  }

  std::string method_;
  TarDeltaSettings settings_;
  PayloadSettings payload_;
  const RunContext& ctx_;
  std::unique_ptr<TarDeltaEncoder> encoder_;
};

int parse_int_option(const StageSpec& spec, const char* key, int fallback, int lo, int hi) {
  auto it = spec.options.find(key);
  if (it == spec.options.end()) return fallback;
  int v = 0;
  const auto* end = it->second.data() + it->second.size();
  auto [ptr, ec] = std::from_chars(it->second.data(), end, v);
  if (ec != std::errc() || ptr != end || v < lo || v > hi)
    fail(Errc::usage, "delta option {} must be a number from {} to {}, not '{}'", key, lo, hi, it->second);
  return v;
}

}  // namespace

void register_delta_filter(Registry& registry) {
  registry.add_filter(
      "delta", "delta[:zstd|xdelta3|bsdiff]",
      "encode changed layers against the --base images' layers; keep the smaller of delta and whole",
      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
        check_options(spec, {"level", "segment-mib", "compression", "compression-level"});
        const std::string method = spec.argument.empty() ? "zstd" : spec.argument;
        if (method != "zstd" && method != "xdelta3" && method != "bsdiff")
          fail(Errc::usage, "unknown delta method '{}' (zstd, xdelta3, bsdiff)", method);
        if (!ctx.receiver || !ctx.receiver->bases)
          fail(Errc::usage, "delta needs the old image: give --base SOURCE");
        TarDeltaSettings settings;
        settings.level = parse_int_option(spec, "level", settings.level, -7, 22);
        settings.segment_bytes = std::uint64_t(parse_int_option(spec, "segment-mib", 32, 1, 32)) << 20;
        return std::make_unique<DeltaFilter>(next, method, settings, payload_settings(spec), ctx);
      });
}

}  // namespace dd
