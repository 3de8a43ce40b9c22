#include "outputs/oci_layout_output.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "formats/archive/tar_writer.h"
#include "formats/compression/compression.h"
#include "stores/atomic_destination.h"
#include "stores/blob_directory.h"
#include "stores/layer_writer.h"

namespace dd {
namespace {

std::string_view oci_layer_media_type(Compression c) {
  switch (c) {
    case Compression::none: return media_type::kOciLayer;
    case Compression::gzip: return media_type::kOciLayerGzip;
    case Compression::zstd: return media_type::kOciLayerZstd;
    default: break;
  }
  fail(Errc::unsupported, "an OCI layout cannot hold {} layers", to_string(c));
}

void create_directories_or_fail(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) fail(Errc::io, "creating {}: {}", path, error.message());
}

// The layout (a directory, or an OCI archive's tar) itself: one image, or (a multi-image run)
// every image of the runs that share it, blobs stored once, each image named in index.json.
class OciLayoutFile : public SharedDestination {
 public:
  OciLayoutFile(const std::string& path, const std::string& spec_text, bool as_archive, bool force)
      : spec_text_(spec_text), as_archive_(as_archive) {
    destination_ = std::make_unique<AtomicDestination>(path, as_archive ? OutputContent::tar_archive : OutputContent::oci_layout, force);
    if (as_archive) {
      staging_ = std::make_unique<ScratchDirectory>(destination_->destination(), "staging");
      root_ = staging_->path();
      // Written through our own descriptor, so a full disk is reported as such, with the path.
      tar_ = std::make_unique<TarWriter>(destination_->temp_path(),
                                         [fd = destination_->temp_fd(), what = destination_->temp_path()](
                                             const char* data, std::size_t size) { write_all(fd, data, size, what); });
      tar_->add_directory("blobs");
      tar_->add_directory("blobs/sha256");
    } else {
      root_ = destination_->temp_path();
    }
    blobs_dir_ = root_ + "/blobs/sha256";
    create_directories_or_fail(blobs_dir_);
    blobs_ = std::make_unique<BlobDirectory>(blobs_dir_);
  }

  const std::string& path() const { return destination_->destination(); }
  bool as_archive() const { return as_archive_; }
  BlobDirectory& blobs() { return *blobs_; }
  TarWriter* tar() { return tar_.get(); }
  std::string blob_path(const Digest& digest) const { return blobs_->path(digest); }

  WrittenBlob write_blob(std::string_view bytes) {
    const Digest digest = Digest::sha256_of(bytes);
    if (!blobs_->claim(digest, bytes.size())) return {digest, bytes.size(), Compression::none};
    WrittenBlob blob = write_bytes(bytes, blob_path(digest));
    move_into_archive(digest);
    return blob;
  }

  // oci-archive: a finished blob goes into the tar at once and leaves the staging directory, so
  // staging never holds more than one layer.
  void move_into_archive(const Digest& digest) {
    if (!tar_) return;
    tar_->add_file_from_path("blobs/sha256/" + digest.hex(), blob_path(digest));
    std::filesystem::remove(blob_path(digest));
  }

  void add_manifest(nlohmann::ordered_json descriptor, nlohmann::json image) {
    manifests_.push_back(std::move(descriptor));
    images_.push_back(std::move(image));
  }

  nlohmann::json commit() override {
    nlohmann::ordered_json index;
    index["schemaVersion"] = 2;
    index["mediaType"] = media_type::kOciIndex;
    index["manifests"] = manifests_;
    write_file("index.json", index.dump());
    write_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    if (tar_) {
      tar_->close();
      staging_->remove();
    }
    destination_->commit();
    nlohmann::json result = images_.size() == 1 ? images_.front() : nlohmann::json::object();
    result["destination"] = spec_text_;
    result["bytes"] = blobs_->bytes();
    result["images"] = images_;
    return result;
  }

 private:
  void write_file(const std::string& name, std::string_view bytes) {
    if (!tar_) {
      write_bytes(bytes, root_ + "/" + name);
      return;
    }
    MemoryStream stream{std::string(bytes)};
    tar_->add_file(name, bytes.size(), stream);
  }

  std::string spec_text_;
  bool as_archive_;
  std::unique_ptr<AtomicDestination> destination_;
  std::unique_ptr<ScratchDirectory> staging_;  // oci-archive only: blobs whose digest is known once written
  std::unique_ptr<TarWriter> tar_;             // oci-archive only: writes the destination's temporary file
  std::string root_;
  std::string blobs_dir_;
  std::unique_ptr<BlobDirectory> blobs_;  // in blobs_dir_
  nlohmann::ordered_json manifests_ = nlohmann::ordered_json::array();
  nlohmann::json images_ = nlohmann::json::array();
};

class OciLayoutOutput : public OutputStore {
 public:
  OciLayoutOutput(const StageSpec& spec, const RunContext& ctx, bool as_archive)
      : spec_text_(spec.text()), as_archive_(as_archive) {
    check_options(spec, {"compress"});
    if (auto it = spec.options.find("compress"); it != spec.options.end())
      target_compression_ = parse_compression(it->second);
    // Named, not a structured binding: clang before 16 cannot capture bindings in the lambdas below.
    const auto path_and_ref = split_path_and_ref(spec.argument);
    const auto& path = path_and_ref.first;
    const auto& ref = path_and_ref.second;
    if (path.empty())
      fail(Errc::usage, "{} needs a path: {}", spec.kind, as_archive ? "oci-archive:PATH[:REF]" : "oci:DIR[:REF]");
    ref_ = ref;
    file_ = &shared_destination(
        ctx, own_, [&] { return std::make_unique<OciLayoutFile>(path, spec_text_, as_archive, ctx.force); },
        [&](const OciLayoutFile& f) { return f.path() == path && f.as_archive() == as_archive; }, spec_text_);
  }

  bool fetch_callback(const Digest&, BlobKind) override { return true; }  // a layout holds every blob

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;  // the layout names only the one image passed on
      case ElementType::manifest: take_manifest(data.manifest()); break;
      case ElementType::config: take_config(data.config()); break;
      case ElementType::layer: take_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    if (!config_) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    if (layers_.size() != expected_layers_)
      fail(Errc::internal, "{}: {} of {} layers arrived", spec_text_, layers_.size(), expected_layers_);
    const WrittenBlob manifest = file_->write_blob(build_manifest().dump());
    nlohmann::ordered_json descriptor = {{"mediaType", media_type::kOciManifest},
                                         {"digest", manifest.digest.str()},
                                         {"size", manifest.size}};
    if (!ref_.empty()) descriptor["annotations"] = {{kRefNameAnnotation, ref_}};
    nlohmann::json image{{"image_id", config_->digest.str()}, {"manifest_digest", manifest.digest.str()}, {"layers", layers_.size()}};
    if (!ref_.empty()) image["ref"] = ref_;
    file_->add_manifest(descriptor, image);
    result_ = image;
    result_["destination"] = spec_text_;
    if (own_) result_ = own_->commit();
  }

  nlohmann::json result() const override { return result_; }

 private:
  void take_manifest(const ImageManifest& manifest) {
    if (manifest.kind == ManifestKind::oci_manifest) annotations_ = manifest.annotations;
  }

  void take_config(const std::string& bytes) {
    if (config_) fail(Errc::internal, "{}: the image config arrived twice", spec_text_);
    // The exact bytes, so the config digest (the image ID) stays what it was.
    config_ = file_->write_blob(bytes);
  }

  void take_layer(const LayerInfo& info, LayerBody* body) {
    if (body == nullptr)
      fail(Errc::bad_input, "{} output needs every layer, but layer {} ({}) was skipped upstream",
           as_archive_ ? "oci-archive" : "oci", info.index + 1, info.diff_id.str());
    expected_layers_ = info.count;
    BlobDirectory& blobs = file_->blobs();
    TarWriter* tar = file_->tar();
    const Compression wanted = target_compression_.value_or(info.compression);
    const WrittenBlob* known = blobs.layer(info.diff_id, wanted);
    if (known == nullptr && tar && wanted == info.compression && info.stored.size &&
        !info.stored.digest.empty() && info.stored.digest.algorithm() == "sha256") {
      // Copied unchanged into an archive: name and size are known, so the blob streams straight
      // into the tar, checked against its digest as it goes.
      const WrittenBlob blob{info.stored.digest, *info.stored.size, info.compression};
      if (blobs.claim(blob.digest, blob.size)) tar->add_file("blobs/sha256/" + blob.digest.hex(), blob.size, body->stored());
      known = &blobs.remember_layer(info.diff_id, wanted, blob);
    }
    if (known == nullptr) {
      bool stored = false;
      known = &blobs.write_layer(*body, info, target_compression_, &stored);
      if (stored) file_->move_into_archive(known->digest);
    }
    const WrittenBlob& blob = *known;
    log::verbose("layer {}/{} {}: {} {} ({})", info.index + 1, info.count, info.diff_id.short_str(),
                 to_string(blob.compression), human_bytes(blob.size), blob.digest.short_str());
    layers_.push_back(blob);
  }

  nlohmann::ordered_json build_manifest() const {
    nlohmann::ordered_json doc;
    doc["schemaVersion"] = 2;
    doc["mediaType"] = media_type::kOciManifest;
    doc["config"] = {{"mediaType", media_type::kOciConfig},
                     {"digest", config_->digest.str()},
                     {"size", config_->size}};
    doc["layers"] = nlohmann::ordered_json::array();
    for (const WrittenBlob& layer : layers_)
      doc["layers"].push_back({{"mediaType", oci_layer_media_type(layer.compression)},
                               {"digest", layer.digest.str()},
                               {"size", layer.size}});
    if (!annotations_.empty()) doc["annotations"] = annotations_;
    return doc;
  }

  std::string spec_text_;
  bool as_archive_;
  std::string ref_;
  std::optional<Compression> target_compression_;
  std::unique_ptr<OciLayoutFile> own_;  // a run of its own; else the shared one
  OciLayoutFile* file_ = nullptr;

  std::map<std::string, std::string> annotations_;
  std::optional<WrittenBlob> config_;
  std::vector<WrittenBlob> layers_;  // in image order; a repeated layer appears again
  std::size_t expected_layers_ = 0;
  nlohmann::json result_;
};

}  // namespace

void register_oci_outputs(Registry& registry) {
  registry.add_output("oci", "oci:DIR[:REF]", "an OCI image layout directory",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<OciLayoutOutput>(spec, ctx, false);
                      });
  registry.add_output("oci-archive", "oci-archive:PATH[:REF]", "an OCI image layout in a tar file",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<OciLayoutOutput>(spec, ctx, true);
                      });
}

}  // namespace dd
