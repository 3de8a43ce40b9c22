#include "outputs/delta_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>

#include "formats/delta_package.h"
#include "formats/manifest_parser.h"
#include "outputs/atomic_destination.h"
#include "pipeline/error.h"
#include "pipeline/interruption.h"
#include "pipeline/layer_payload.h"
#include "pipeline/log.h"
#include "pipeline/progress.h"
#include "pipeline/receiver.h"

namespace dd {
namespace {

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

class DeltaOutput : public OutputStore {
 public:
  DeltaOutput(const StageSpec& spec, const RunContext& ctx) : ctx_(ctx), spec_text_(spec.text()) {
    check_options(spec, {"dry-run"});
    dry_run_ = spec.options.count("dry-run") > 0;
    path_ = spec.argument;
    if (path_.empty()) fail(Errc::usage, "delta needs a path: delta:PACKAGE");
    if (dry_run_) {
      if (std::filesystem::exists(path_) && !ctx.force)
        fail(Errc::exists, "{} exists (use --force to replace it)", path_);
    } else {
      destination_ = std::make_unique<AtomicDestination>(path_, AtomicDestination::Kind::file, ctx.force);
    }
  }

  bool fetch_callback(const Digest&) override { return true; }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest:
        header_.repo_tags = data.manifest->repo_tags;
        header_.manifest = data.manifest->raw;
        header_.manifest_media_type = std::string(to_string(data.manifest->kind));
        break;
      case ElementType::config:
        config_ = *data.config;
        header_.config_digest = Digest::sha256_of(config_);
        header_.config_size = config_.size();
        header_.platform = parse_config(config_, ctx_.limits).platform.str();
        break;
      case ElementType::layer: take_layer(*data.layer, data.body, data.payload); break;
    }
  }

  void finalize() override {
    if (config_.empty()) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    header_.tool = std::string("docker_delta ") + DOCKER_DELTA_VERSION;
    header_.created = utc_now();
    for (const auto& [diff_id, image] : bases_) header_.base_layers.push_back({diff_id, image});
    const std::string prefix = package_prefix(header_);
    const std::uint64_t total = prefix.size() + header_.payload_bytes();
    if (!dry_run_) write(prefix);
    std::uint64_t source_bytes = config_.size();
    bool source_known = true;
    for (const auto& l : header_.layers) {
      if (l.source_size) source_bytes += *l.source_size;
      else source_known = false;
    }
    auto layers = nlohmann::json::array();
    for (const auto& l : header_.layers) {
      nlohmann::json e{{"diff_id", l.diff_id.str()}, {"ship", to_string(l.shipping)}, {"payload_bytes", l.payload_size}};
      if (l.size) e["size"] = *l.size;
      if (l.shipping != Shipping::reused) e["method"] = l.method;
      if (l.shipping == Shipping::full) e["compression"] = to_string(l.compression);
      layers.push_back(e);
    }
    result_ = {{"destination", spec_text_}, {"image_id", header_.config_digest.str()},
               {"layers", header_.layers.size()}, {"bytes", total}, {"dry_run", dry_run_}, {"layer_list", layers}};
    if (source_known) result_["source_bytes"] = source_bytes;
  }

  nlohmann::json result() const override { return result_; }

 private:
  void take_layer(const LayerInfo& info, LayerBody* body, const LayerPayload* payload) {
    PackageLayer l;
    l.diff_id = info.diff_id;
    l.source_size = info.source.size ? info.source.size : info.stored.size;
    const std::string what = fmt::format("layer {}/{} {}", info.index + 1, info.count, info.diff_id.short_str());
    if (body == nullptr) {
      const auto image = ctx_.receiver ? ctx_.receiver->image_with_layer(info.diff_id) : std::nullopt;
      if (!image) fail(Errc::bad_input, "{}: skipped upstream, but the receiver does not have it", what);
      l.shipping = Shipping::reused;
      if (info.compression == Compression::none && info.stored.size) l.size = info.stored.size;
      bases_.emplace(info.diff_id, *image);
      log::verbose("{}: reused (the receiver has it)", what);
    } else {
      std::optional<LayerPayload> own;
      if (payload == nullptr) {
        std::uint64_t size = 0;
        CountingStream counted(body->uncompressed(), [&](std::uint64_t n) { size += n; });
        own = compress_whole_layer(counted, ctx_.payload, ctx_);
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
        const auto image = ctx_.receiver ? ctx_.receiver->image_with_layer(b) : std::nullopt;
        bases_.emplace(b, image.value_or("?"));
      }
      payloads_.push_back(payload->file);
    }
    header_.layers.push_back(std::move(l));
  }

  void write(const std::string& prefix) {
    UniqueFd out(::open(destination_->temp_path().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!out) fail_errno(destination_->temp_path());
    write_all(out.get(), prefix.data(), prefix.size(), path_);
    write_all(out.get(), config_.data(), config_.size(), path_);
    std::size_t i = 0;
    for (const auto& l : header_.layers) {
      if (l.shipping == Shipping::reused) continue;
      throw_if_interrupted();
      FileRangeStream bytes(payloads_.at(i++), 0, l.payload_size, "temporary payload file");
      copy_stream(bytes, [&](const char* p, std::size_t n) { write_all(out.get(), p, n, path_); });
    }
    if (::fsync(out.get()) != 0) fail_errno(path_);
    destination_->commit();
  }

  const RunContext& ctx_;
  std::string spec_text_;
  std::string path_;
  bool dry_run_ = false;
  std::unique_ptr<AtomicDestination> destination_;
  PackageHeader header_;
  std::string config_;
  std::map<Digest, std::string> bases_;  // base layer -> an image holding it
  std::vector<std::shared_ptr<UniqueFd>> payloads_;
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
