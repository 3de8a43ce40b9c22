#include "stores/docker_archive_writer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"

namespace dd {

DockerArchiveWriter::DockerArchiveWriter(TarWriter& tar, std::string staging_dir, std::string what)
    : tar_(tar), staging_dir_(std::move(staging_dir)), what_(std::move(what)) {}

void DockerArchiveWriter::add_config(const std::string& bytes) {
  if (config_) fail(Errc::internal, "{}: the image config arrived twice", what_);
  const Digest digest = Digest::sha256_of(bytes);
  config_file_ = digest.hex() + ".json";
  MemoryStream config_bytes(bytes);
  tar_.add_file(config_file_, bytes.size(), config_bytes);
  config_ = WrittenBlob{digest, bytes.size(), Compression::none};
  blob_bytes_ += config_->size;
}

void DockerArchiveWriter::add_layer(const LayerInfo& info, LayerBody* body) {
  expected_layers_ = info.count;
  const std::string name = info.diff_id.hex() + ".tar";
  layer_files_.push_back(name);
  if (body == nullptr && written_diff_ids_.count(info.diff_id) > 0) {
    log::verbose("layer {}/{} {}: in the archive already (an earlier image)", info.index + 1, info.count, info.diff_id.short_str());
    return;
  }
  if (body == nullptr) {
    if (left_out_.count(info.diff_id) == 0)
      fail(Errc::bad_input, "{} needs every layer, but layer {} ({}) was skipped upstream", what_, info.index + 1,
           info.diff_id.str());
    ++layers_left_out_;
    log::verbose("layer {}/{} {}: the daemon has it, left out", info.index + 1, info.count, info.diff_id.short_str());
    return;
  }
  if (!written_diff_ids_.insert(info.diff_id).second) {
    log::verbose("layer {}/{} {}: same as an earlier layer", info.index + 1, info.count, info.diff_id.short_str());
    return;
  }
  const std::uint64_t size = add_layer_file(name, info, *body);
  blob_bytes_ += size;
  log::verbose("layer {}/{} {}: uncompressed {}", info.index + 1, info.count, info.diff_id.short_str(),
               human_bytes(size));
}

// A tar entry needs its size before its bytes. An uncompressed source states it, so the layer
// streams straight in (checked against its diff_id as it goes); a compressed one is first
// decompressed into a staging file, one layer at a time, then copied in and deleted.
std::uint64_t DockerArchiveWriter::add_layer_file(const std::string& name, const LayerInfo& info, LayerBody& body) {
  if (info.compression == Compression::none && info.stored.size) {
    tar_.add_file(name, *info.stored.size, body.stored());
    return *info.stored.size;
  }
  const std::string spool = staging_dir_ + "/" + name;
  const WrittenBlob blob = write_layer(body, info, Compression::none, spool);
  tar_.add_file_from_path(name, spool);
  std::filesystem::remove(spool);
  return blob.size;
}

void DockerArchiveWriter::end_image(const std::vector<std::string>& repo_tags) {
  if (!config_) fail(Errc::internal, "{}: the image config never arrived", what_);
  if (layer_files_.size() != expected_layers_)
    fail(Errc::internal, "{}: {} of {} layers arrived", what_, layer_files_.size(), expected_layers_);
  manifest_.push_back({{"Config", config_file_}, {"RepoTags", repo_tags}, {"Layers", layer_files_}});
  last_image_id_ = config_->digest;
  last_layer_count_ = layer_files_.size();
  config_.reset();
  layer_files_.clear();
  expected_layers_ = 0;
}

void DockerArchiveWriter::finish(const std::vector<std::string>& repo_tags) {
  end_image(repo_tags);
  finish_images();
}

void DockerArchiveWriter::finish_images() {
  if (manifest_.empty()) fail(Errc::internal, "{}: no image was written", what_);
  // No legacy "repositories" file or per-layer directories: docker load needs only manifest.json.
  // It comes last, as the tags are final only now; docker load and skopeo read the whole tar
  // first, and a load cut short before it fails instead of loading half an image.
  const std::string text = nlohmann::ordered_json(manifest_).dump();
  MemoryStream manifest_bytes(text);
  tar_.add_file("manifest.json", text.size(), manifest_bytes);
  tar_.close();
}

}  // namespace dd
