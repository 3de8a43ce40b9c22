#include "filters/delta_filter.h"

#include <charconv>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/temp_file.h"
#include "delta/delta_method.h"
#include "delta/layer_payload.h"
#include "delta/receiver.h"
#include "formats/archive/layer_tar_index.h"
#include "stores/checked_file_layer_body.h"

namespace dd {
namespace {

class DeltaFilter : public Filter {
 public:
  DeltaFilter(Stage& next, const DeltaMethod& method, DeltaSettings settings, PayloadSettings payload, const RunContext& ctx)
      : Filter(next), method_(method), settings_(settings), payload_(payload), ctx_(ctx) {}

  // Asked about layers once the input has found its image and before it reads one: the bases
  // are read from here on, while the input reads the new image, not after it.
  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    const bool wanted = next_.fetch_callback(digest, kind);
    if (wanted && kind == BlobKind::layer && ctx_.receiver && ctx_.receiver->bases) ctx_.receiver->bases->prefetch_all_layers();
    return wanted;
  }

  void process_image_element(ElementType type, const std::string& name, ElementData& data) override {
    if (type != ElementType::layer || data.body() == nullptr || !ctx_.receiver->bases) {
      next_.process_image_element(type, name, data);
      return;
    }
    LayerInfo info = data.layer();
    // A layer already held uncompressed in a file is checked and used where it lies.
    DeltaLayerFile layer = hold_layer(*data.body(), info.diff_id, ctx_.temp_dir);
    LayerPayload payload = encode(info, layer);
    // The next images of a package may be encoded against it: the receiver rebuilds it first.
    if (ctx_.multi_image && layer.index) ctx_.receiver->carried_layers.push_back(layer);
    // The body passes on as plain tar from the file it now lies in, checked on the way in.
    info.compression = Compression::none;
    info.stored = Descriptor{media_type::kOciLayer, info.diff_id, layer.size, {}, {}};
    info.source = info.stored;
    info.source_compression = Compression::none;
    CheckedFileLayerBody body(layer.file, layer.offset, layer.size, "layer " + info.diff_id.short_str());
    ElementData forwarded = data.with_layer(info, &body);
    forwarded.attach(payload);
    next_.process_image_element(type, name, forwarded);
    body.drain_and_verify();
  }

 private:
  // Made at the first layer that needs one, so that the bases are read only then.
  DeltaEncoder& encoder() {
    if (!encoder_) {
      // Earlier images' layers first: where a path is in both, the receiver's old layer wins.
      bases_ = ctx_.receiver->carried_layers;
      for (auto& l : ctx_.receiver->bases->all_layers()) bases_.push_back(std::move(l));
      encoder_ = method_.make_encoder(bases_, settings_, ctx_.limits);
    }
    return *encoder_;
  }

  LayerPayload encode(const LayerInfo& info, DeltaLayerFile& layer) {
    const std::string what = fmt::format("layer {}/{} {}", info.index + 1, info.count, info.diff_id.short_str());
    std::optional<LayerPayload> delta;
    try {
      layer.index = std::make_shared<LayerTarIndex>(index_layer_tar(*layer.file, layer.offset, layer.size, ctx_.limits, what));
      encoder();
      if (bases_.empty()) throw Error(Errc::not_found, "no base layers");
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
                   delta ? fmt::format(" (the {} delta was {})", method_.name(), human_bytes(delta->size)) : "");
      return *whole;
    }
    log::verbose("{}: {} delta {} against {} base layer(s), {} uncompressed", what, method_.name(), human_bytes(delta->size),
                 delta->bases.size(), human_bytes(layer.size));
    return *delta;
  }

  LayerPayload make_delta(const DeltaLayerFile& layer, const std::string& what) {
    DeltaEncoder::Result result;
    LayerPayload p = make_payload(ctx_, [&](int fd) { result = encoder().encode(layer, fd, what); });
    if (!result.details.empty()) log::verbose("{}: {}", what, result.details);
    if (result.bases.empty()) fail(Errc::internal, "{}: the {} encoder named no base", what, method_.name());
    p.bases = result.bases;
    p.method = std::string(method_.name());
    return p;
  }

  const DeltaMethod& method_;
  DeltaSettings settings_;
  PayloadSettings payload_;
  const RunContext& ctx_;
  std::vector<DeltaLayerFile> bases_;  // before encoder_, which may point into it
  std::unique_ptr<DeltaEncoder> encoder_;
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
      "delta", "delta[:" + delta_method_list("|") + "]",
      "encode changed layers against the --base images' layers; keep the smaller of delta and whole",
      [](const StageSpec& spec, Stage& next, const RunContext& ctx) -> std::unique_ptr<Filter> {
        check_options(spec, {"level", "segment-mib", "jobs", "compression", "compression-level"});
        const DeltaMethod* method = spec.argument.empty() ? delta_methods().front() : find_delta_method(spec.argument);
        if (method == nullptr) fail(Errc::usage, "unknown delta method '{}' ({})", spec.argument, delta_method_list());
        if (!ctx.receiver || !ctx.receiver->bases)
          fail(Errc::usage, "delta needs the old image: give --base SOURCE");
        DeltaSettings settings;
        settings.level = parse_int_option(spec, "level", settings.level, -7, 22);
        settings.segment_bytes = std::uint64_t(parse_int_option(spec, "segment-mib", static_cast<int>(settings.segment_bytes >> 20), 1, 32)) << 20;
        settings.jobs = static_cast<unsigned>(parse_int_option(spec, "jobs", 1, 1, 256));
        return std::make_unique<DeltaFilter>(next, *method, settings, payload_settings(spec), ctx);
      });
}

}  // namespace dd
