#include "outputs/dir_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/durable_file.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "formats/compression/compression.h"
#include "stores/atomic_destination.h"
#include "stores/blob_directory.h"
#include "stores/layer_writer.h"

namespace dd {
namespace {

// containers/image's directory/directory_dest.go writes exactly this.
constexpr char kDirVersion[] = "Directory Transport Version: 1.1\n";

std::string parent_of(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

class DirOutput : public OutputStore {
 public:
  DirOutput(const StageSpec& spec, const RunContext& ctx) : spec_text_(spec.text()) {
    check_options(spec, {"compress"});
    if (auto it = spec.options.find("compress"); it != spec.options.end())
      target_compression_ = parse_compression(it->second);
    if (target_compression_ && *target_compression_ != Compression::none && *target_compression_ != Compression::gzip &&
        *target_compression_ != Compression::zstd)
      fail(Errc::usage, "dir: layers can be none, gzip or zstd, not {}", to_string(*target_compression_));
    if (spec.argument.empty()) fail(Errc::usage, "dir needs a directory: dir:PATH");
    destination_ = std::make_unique<AtomicDestination>(spec.argument, OutputContent::directory_transport, ctx.force);
    root_ = destination_->temp_path();
    blobs_ = std::make_unique<BlobDirectory>(root_);
  }

  bool fetch_callback(const Digest&, BlobKind) override { return true; }  // the directory holds every blob

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;  // one image, as skopeo copy without --all writes
      case ElementType::manifest: source_manifest_ = data.manifest(); break;
      case ElementType::config: take_config(data.config()); break;
      case ElementType::layer: take_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    if (!config_) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    if (layers_.size() != expected_layers_)
      fail(Errc::internal, "{}: {} of {} layers arrived", spec_text_, layers_.size(), expected_layers_);
    const std::string manifest = manifest_bytes();
    write_file("manifest.json", manifest);
    write_file("version", kDirVersion);
    sync_path(root_);
    destination_->commit();
    sync_path(parent_of(destination_->destination()));
    result_ = {{"destination", spec_text_},
               {"image_id", config_->digest.str()},
               {"manifest_digest", Digest::sha256_of(manifest).str()},
               {"layers", layers_.size()},
               {"bytes", blobs_->bytes()}};
  }

  nlohmann::json result() const override { return result_; }

 private:
  void take_config(const std::string& bytes) {
    if (config_) fail(Errc::internal, "{}: the image config arrived twice", spec_text_);
    const Digest digest = Digest::sha256_of(bytes);  // exact bytes: the image ID stays
    config_ = WrittenBlob{digest, bytes.size(), Compression::none};
    if (blobs_->claim(digest, bytes.size())) write_file(digest.hex(), bytes);
  }

  void take_layer(const LayerInfo& info, LayerBody* body) {
    if (body == nullptr)
      fail(Errc::bad_input, "dir output needs every layer, but layer {} ({}) was skipped upstream", info.index + 1,
           info.diff_id.str());
    expected_layers_ = info.count;
    const Compression wanted = target_compression_.value_or(info.compression);
    if (wanted != Compression::none && wanted != Compression::gzip && wanted != Compression::zstd)
      fail(Errc::unsupported, "dir output cannot hold {} layers", to_string(wanted));
    const WrittenBlob* known = blobs_->layer(info.diff_id, wanted);
    if (known == nullptr) known = &blobs_->write_layer(*body, info, target_compression_);
    log::verbose("layer {}/{} {}: {} {} ({})", info.index + 1, info.count, info.diff_id.short_str(),
                 to_string(known->compression), human_bytes(known->size), known->digest.short_str());
    layers_.push_back(*known);
  }

  void write_file(const std::string& name, std::string_view bytes) {
    const std::string path = root_ + "/" + name;
    write_bytes(bytes, path);
    sync_path(path);
  }

  // The source's manifest bytes when every blob is unchanged (as skopeo copies it, so the
  // manifest digest survives); otherwise a new one, Docker schema2 for a Docker source whose
  // layers it can describe, OCI for the rest.
  std::string manifest_bytes() const {
    if (source_manifest_ && !source_manifest_->raw.empty() && source_manifest_->config.digest == config_->digest &&
        source_manifest_->layers.size() == layers_.size()) {
      bool same = true;
      for (std::size_t i = 0; i < layers_.size() && same; ++i)
        same = source_manifest_->layers[i].digest == layers_[i].digest &&
               source_manifest_->layers[i].size.value_or(layers_[i].size) == layers_[i].size;
      if (same) return source_manifest_->raw;
    }
    bool docker = source_manifest_ && (source_manifest_->kind == ManifestKind::docker_schema2 ||
                                       source_manifest_->kind == ManifestKind::docker_save);
    for (const auto& l : layers_) docker = docker && l.compression != Compression::zstd;
    nlohmann::ordered_json doc;
    doc["schemaVersion"] = 2;
    doc["mediaType"] = docker ? media_type::kDockerManifest : media_type::kOciManifest;
    doc["config"] = {{"mediaType", docker ? media_type::kDockerConfig : media_type::kOciConfig},
                     {"size", config_->size},
                     {"digest", config_->digest.str()}};
    doc["layers"] = nlohmann::ordered_json::array();
    for (const WrittenBlob& l : layers_) {
      std::string_view media;
      switch (l.compression) {
        case Compression::none: media = docker ? media_type::kDockerLayer : media_type::kOciLayer; break;
        case Compression::gzip: media = docker ? media_type::kDockerLayerGzip : media_type::kOciLayerGzip; break;
        default: media = media_type::kOciLayerZstd; break;
      }
      doc["layers"].push_back({{"mediaType", media}, {"size", l.size}, {"digest", l.digest.str()}});
    }
    if (!docker && source_manifest_ && source_manifest_->kind == ManifestKind::oci_manifest &&
        !source_manifest_->annotations.empty())
      doc["annotations"] = source_manifest_->annotations;
    return doc.dump();
  }

  std::string spec_text_;
  std::optional<Compression> target_compression_;
  std::unique_ptr<AtomicDestination> destination_;
  std::string root_;
  std::optional<ImageManifest> source_manifest_;
  std::optional<WrittenBlob> config_;
  std::vector<WrittenBlob> layers_;  // in image order; a repeated layer appears again
  std::size_t expected_layers_ = 0;
  std::unique_ptr<BlobDirectory> blobs_;  // in root_
  nlohmann::json result_;
};

}  // namespace

void register_dir_output(Registry& registry) {
  registry.add_output("dir", "dir:PATH", "skopeo's directory transport: one file per blob, manifest.json, version",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<DirOutput>(spec, ctx);
                      });
}

}  // namespace dd
