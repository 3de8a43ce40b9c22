#include "outputs/delta_output.h"

#include <optional>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "delta/delta_package.h"
#include "delta/layer_payload.h"
#include "delta/package_parts.h"
#include "delta/receiver.h"
#include "formats/image/manifest_parser.h"
#include "outputs/delta_package_destination.h"

namespace dd {
namespace {

PackageWriteSettings write_settings(const StageSpec& spec) {
  PackageWriteSettings s;
  s.path = spec.argument;
  s.verify = spec.options.count("no-verify") == 0;
  s.dry_run = spec.options.count("dry-run") > 0;
  if (auto it = spec.options.find("split"); it != spec.options.end()) s.split_size = parse_part_size(it->second);
  if (auto it = spec.options.find("sign"); it != spec.options.end()) s.sign_key = it->second;
  return s;
}

// One image per run. Alone, the run writes the package in finalize(); in a multi-image run the
// package (a DeltaPackageDestination) is shared by the runs and committed by whoever ran them.
class DeltaOutput : public OutputStore {
 public:
  DeltaOutput(const StageSpec& spec, const RunContext& ctx) : ctx_(ctx), spec_text_(spec.text()) {
    check_options(spec, {"dry-run", "no-verify", "compression", "compression-level", "split", "sign"});
    payload_ = payload_settings(spec);
    PackageWriteSettings settings = write_settings(spec);
    package_ = &shared_destination(
        ctx, own_, [&] { return std::make_unique<DeltaPackageDestination>(settings, ctx); },
        [&](const DeltaPackageDestination& d) { return d.settings().path == settings.path; }, spec_text_);
  }

  // A layer an earlier image of the same package carries travels once: its body is not wanted.
  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    return !(kind == BlobKind::layer && package_->image_carrying(digest));
  }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest:
        image_.header.repo_tags = data.manifest().repo_tags;
        image_.header.manifest = data.manifest().raw;
        image_.header.manifest_media_type = std::string(to_string(data.manifest().kind));
        break;
      case ElementType::config:
        image_.config = data.config();
        image_.header.config_digest = Digest::sha256_of(image_.config);
        image_.header.config_size = image_.config.size();
        image_.header.platform = parse_config(image_.config, ctx_.limits).platform.str();
        break;
      case ElementType::layer: take_layer(data.layer(), data.body(), data.attachment<LayerPayload>()); break;
    }
  }

  void finalize() override {
    if (image_.config.empty()) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    image_result_ = {{"image_id", image_.header.config_digest.str()}, {"layers", image_.header.layers.size()}};
    package_->add(std::move(image_));
    if (own_) result_ = own_->commit();
    else result_ = image_result_;
  }

  nlohmann::json result() const override { return result_; }

 private:
  void take_layer(const LayerInfo& info, LayerBody* body, const LayerPayload* payload) {
    PackageLayer l;
    l.diff_id = info.diff_id;
    l.source_size = info.source.size ? info.source.size : info.stored.size;
    const std::string what = fmt::format("layer {}/{} {}", info.index + 1, info.count, info.diff_id.short_str());
    if (body == nullptr) {
      if (info.compression == Compression::none && info.stored.size) l.size = info.stored.size;
      if (const auto carrier = package_->image_carrying(info.diff_id)) {
        l.shipping = Shipping::packaged;
        log::verbose("{}: travels once, with {}", what, *carrier);
      } else {
        const auto image = ctx_.receiver ? ctx_.receiver->image_with_layer(info.diff_id) : std::nullopt;
        if (!image) fail(Errc::bad_input, "{}: skipped upstream, but the receiver does not have it", what);
        l.shipping = Shipping::reused;
        image_.bases.emplace(info.diff_id, *image);
        log::verbose("{}: reused (the receiver has it)", what);
      }
    } else {
      std::optional<LayerPayload> own;
      if (payload == nullptr) {
        std::uint64_t size = 0;
        CountingStream counted(body->uncompressed(), [&](std::uint64_t n) { size += n; });
        own = compress_whole_layer(counted, payload_, ctx_);
        body->drain_and_verify();
        l.size = size;
        payload = &*own;
        log::verbose("{}: whole, {} compressed {}", what, to_string(own->compression), human_bytes(own->size));
      } else {
        l.size = info.stored.size;
      }
      l.shipping = payload->is_delta ? Shipping::delta : Shipping::full;
      l.method = payload->method;
      l.compression = payload->compression;
      l.bases = payload->bases;
      l.payload_size = payload->size;
      l.payload_digest = payload->digest;
      for (const auto& b : payload->bases) {
        if (package_->image_carrying(b)) continue;  // rebuilt from this package, not the receiver's
        const auto image = ctx_.receiver ? ctx_.receiver->image_with_layer(b) : std::nullopt;
        image_.bases.emplace(b, image.value_or("?"));
      }
      image_.payloads.push_back(payload->file);
    }
    image_.header.layers.push_back(std::move(l));
  }

  const RunContext& ctx_;
  PayloadSettings payload_;
  std::string spec_text_;
  std::unique_ptr<DeltaPackageDestination> own_;
  DeltaPackageDestination* package_ = nullptr;
  PackagedImage image_;
  nlohmann::json image_result_;
  nlohmann::json result_;
};

}  // namespace

void register_delta_output(Registry& registry) {
  registry.add_output("delta", "delta:PACKAGE", "a delta package: what the receiver lacks, layers as deltas",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<DeltaOutput>(spec, ctx);
                      });
}

}  // namespace dd
