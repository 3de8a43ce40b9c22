// Writes images into a tar in the layout docker load reads: each config as <hex>.json, each
// layer as <diff_id hex>.tar (plain tar; a layer several images share, once), manifest.json last. Used by the docker-archive output
// (a file) and the docker-daemon output (streamed into POST /images/load).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/archive/tar_writer.h"
#include "pipeline/element.h"
#include "stores/layer_writer.h"

namespace dd {

class DockerArchiveWriter {
 public:
  // `staging_dir` holds a compressed layer while it is decompressed (a tar entry needs its size
  // first); `what` names the destination in messages.
  DockerArchiveWriter(TarWriter& tar, std::string staging_dir, std::string what);

  void add_config(const std::string& bytes);
  // Adds the layer's file, or only names it in the manifest when `body` is null and the diff_id
  // is one of `left_out` (the loading daemon has that layer already).
  void add_layer(const LayerInfo& info, LayerBody* body);
  void leave_out(std::set<Digest> diff_ids) { left_out_ = std::move(diff_ids); }
  // Writes manifest.json naming `repo_tags` (docker load tags with them) and ends the tar.
  void finish(const std::vector<std::string>& repo_tags);
  // Several images: ends the current one (tagged `repo_tags`); the next add_config starts another.
  void end_image(const std::vector<std::string>& repo_tags);
  // Writes manifest.json naming every image ended, and ends the tar.
  void finish_images();
  // Whether the tar already holds this layer (an earlier image had it).
  const std::set<Digest>& written_layers() const { return written_diff_ids_; }

  const Digest& image_id() const { return last_image_id_; }
  std::size_t layer_count() const { return last_layer_count_; }
  std::size_t images() const { return manifest_.size(); }
  std::size_t layers_left_out() const { return layers_left_out_; }
  std::uint64_t bytes() const { return blob_bytes_; }

 private:
  std::uint64_t add_layer_file(const std::string& name, const LayerInfo& info, LayerBody& body);

  TarWriter& tar_;
  std::string staging_dir_;
  std::string what_;
  std::optional<WrittenBlob> config_;
  std::string config_file_;
  std::vector<std::string> layer_files_;  // in image order; a repeated layer appears again
  std::set<Digest> written_diff_ids_;
  std::set<Digest> left_out_;
  std::size_t layers_left_out_ = 0;
  std::size_t expected_layers_ = 0;
  std::uint64_t blob_bytes_ = 0;
  std::vector<nlohmann::ordered_json> manifest_;  // one entry per image ended
  Digest last_image_id_;
  std::size_t last_layer_count_ = 0;
};

}  // namespace dd
