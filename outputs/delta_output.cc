#include "outputs/delta_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/interruption.h"
#include "core/log.h"
#include "core/progress.h"
#include "delta/delta_package.h"
#include "delta/layer_payload.h"
#include "delta/package_layer_decoder.h"
#include "delta/receiver.h"
#include "formats/image/manifest_parser.h"
#include "stores/atomic_destination.h"

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
    check_options(spec, {"dry-run", "no-verify", "compression", "compression-level"});
    payload_ = payload_settings(spec);
    verify_ = spec.options.count("no-verify") == 0;
    dry_run_ = spec.options.count("dry-run") > 0;
    path_ = spec.argument;
    if (path_.empty()) fail(Errc::usage, "delta needs a path: delta:PACKAGE");
    if (dry_run_) {
      if (std::filesystem::exists(path_) && !ctx.force)
        fail(Errc::exists, "{} exists (use --force to replace it)", path_);
    } else {
      destination_ = std::make_unique<AtomicDestination>(path_, OutputContent::delta_package, ctx.force);
    }
  }

  bool fetch_callback(const Digest&, BlobKind) override { return true; }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest:
        header_.repo_tags = data.manifest().repo_tags;
        header_.manifest = data.manifest().raw;
        header_.manifest_media_type = std::string(to_string(data.manifest().kind));
        break;
      case ElementType::config:
        config_ = data.config();
        header_.config_digest = Digest::sha256_of(config_);
        header_.config_size = config_.size();
        header_.platform = parse_config(config_, ctx_.limits).platform.str();
        break;
      case ElementType::layer: take_layer(data.layer(), data.body(), data.attachment<LayerPayload>()); break;
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
    out = UniqueFd();
    verify_written();
    destination_->commit();
  }

  // Proves the package applies before it takes the destination's name: the header is read back
  // by the parser `apply` uses, every payload in the file is checked against its digest, and
  // (unless --no-verify) every payload is decoded against the bases it names, with the diff_id
  // and size of what comes out checked.
  void verify_written() {
    const std::string what = "the package just written (" + path_ + ")";
    SequentialFdStream in(open_for_reading(destination_->temp_path()), what);
    const PackageHeader read_back = read_package_header(in, ctx_.limits, what);
    if (read_back.to_json() != header_.to_json())
      fail(Errc::internal, "{}: its header does not read back as written", what);
    std::string config(read_back.config_size, '\0');
    read_exact(in, config.data(), config.size(), what);
    if (config != config_) fail(Errc::internal, "{}: its config does not read back as written", what);
    std::size_t payload_index = 0;
    for (std::size_t i = 0; i < read_back.layers.size(); ++i) {
      const PackageLayer& l = read_back.layers[i];
      if (l.shipping == Shipping::reused) continue;
      throw_if_interrupted();
      const std::string layer_what = fmt::format("{} layer {}/{} {}", what, i + 1, read_back.layers.size(), l.diff_id.short_str());
      Hasher file_hash;
      std::uint64_t left = l.payload_size;
      std::vector<char> buffer(kBlockSize);
      while (left > 0) {
        const std::size_t n = in.read(buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
        if (n == 0) fail(Errc::internal, "{}: the package ends inside the payload", layer_what);
        file_hash.update(buffer.data(), n);
        left -= n;
      }
      if (file_hash.finish() != *l.payload_digest) fail(Errc::internal, "{}: the payload does not read back as written", layer_what);
      const auto& payload = payloads_.at(payload_index++);
      if (verify_) decode_and_check(l, payload, layer_what);
    }
    char extra;
    if (in.read(&extra, 1) != 0) fail(Errc::internal, "{} has bytes after its last payload", what);
  }

  void decode_and_check(const PackageLayer& l, const std::shared_ptr<UniqueFd>& payload, const std::string& what) {
    std::vector<DeltaLayerFile> bases;
    for (const auto& b : l.bases) bases.push_back(ctx_.receiver->bases->layer(b));
    Hasher h;
    decode_package_layer(l, payload, bases, [&](const char* p, std::size_t n) { h.update(p, n); }, what);
    if (h.finish() != l.diff_id)
      fail(Errc::internal, "{}: the {} payload does not rebuild the layer (its diff_id differs); nothing was written", what,
           l.shipping == Shipping::delta ? l.method + " delta" : "whole-layer");
    log::verbose("{}: decoded back, diff_id checked", what);
  }

  const RunContext& ctx_;
  PayloadSettings payload_;
  std::string spec_text_;
  std::string path_;
  bool dry_run_ = false;
  bool verify_ = true;  // decode the written package back before it is renamed into place
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
