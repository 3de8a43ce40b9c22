#include "outputs/docker_archive_output.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/tar_writer.h"
#include "outputs/atomic_destination.h"
#include "outputs/layer_writer.h"
#include "pipeline/error.h"
#include "pipeline/log.h"
#include "pipeline/progress.h"

namespace dd {
namespace {

// True when the last path component carries a tag ("repo:tag", "host:5000/repo:tag").
bool has_tag(std::string_view reference) {
  const auto slash = reference.rfind('/');
  const auto last = slash == std::string_view::npos ? reference : reference.substr(slash + 1);
  return last.find(':') != std::string_view::npos;
}

// The name docker load tags the image with: REF as given, with ":latest" when it has no tag.
std::string repo_tag_from_ref(const std::string& ref) {
  if (ref.find('@') != std::string::npos)
    fail(Errc::usage, "docker-archive needs a tag, not a digest: '{}' (docker load cannot tag by digest)", ref);
  if (ref.find_first_of(" \t\n") != std::string::npos || ref.back() == ':' || ref.back() == '/')
    fail(Errc::usage, "'{}' is not a valid image reference", ref);
  return has_tag(ref) ? ref : ref + ":latest";
}

class DockerArchiveOutput : public OutputStore {
 public:
  DockerArchiveOutput(const StageSpec& spec, const RunContext& ctx) : spec_text_(spec.text()) {
    check_options(spec, {"compress"});
    // Layers are always plain tar here: what docker load of every version and skopeo read.
    if (auto it = spec.options.find("compress"); it != spec.options.end() && parse_compression(it->second) != Compression::none)
      fail(Errc::usage, "docker-archive layers are always uncompressed (docker load and skopeo expect plain tar); "
                        "--compress {} applies to oci and oci-archive destinations", it->second);
    auto [path, ref] = split_path_and_ref(spec.argument);
    if (path.empty()) fail(Errc::usage, "docker-archive needs a path: docker-archive:PATH[:REF]");
    if (!ref.empty()) ref_tag_ = repo_tag_from_ref(ref);
    destination_ = std::make_unique<AtomicDestination>(path, AtomicDestination::Kind::file, ctx.force);
    staging_ = std::make_unique<ScratchDirectory>(destination_->destination() + ".staging-");
  }

  bool fetch_callback(const Digest&) override { return true; }  // docker load needs every layer

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest: source_tags_ = data.manifest->repo_tags; break;
      case ElementType::config: take_config(*data.config); break;
      case ElementType::layer: take_layer(*data.layer, data.body); break;
    }
  }

  void finalize() override {
    if (!config_) fail(Errc::internal, "{}: the image config never arrived", spec_text_);
    if (layer_files_.size() != expected_layers_)
      fail(Errc::internal, "{}: {} of {} layers arrived", spec_text_, layer_files_.size(), expected_layers_);
    const std::vector<std::string> tags = repo_tags();
    const nlohmann::ordered_json manifest = nlohmann::ordered_json::array(
        {{{"Config", config_file_}, {"RepoTags", tags}, {"Layers", layer_files_}}});
    // No legacy "repositories" file or per-layer directories: docker load needs only manifest.json.
    write_bytes(manifest.dump(), staging_->path() + "/manifest.json");

    TarWriter tar(destination_->temp_path());
    // manifest.json first so a streaming reader knows the layout before the big files arrive.
    tar.add_file_from_path("manifest.json", staging_->path() + "/manifest.json");
    tar.add_file_from_path(config_file_, staging_->path() + "/" + config_file_);
    std::set<std::string> added;
    for (const std::string& name : layer_files_)
      if (added.insert(name).second) tar.add_file_from_path(name, staging_->path() + "/" + name);
    tar.close();
    staging_->remove();
    destination_->commit();

    result_ = {{"destination", spec_text_},
               {"image_id", config_->digest.str()},
               {"repo_tags", tags},
               {"layers", layer_files_.size()},
               {"bytes", blob_bytes_}};
  }

  nlohmann::json result() const override { return result_; }

 private:
  void take_config(const std::string& bytes) {
    if (config_) fail(Errc::internal, "{}: the image config arrived twice", spec_text_);
    const Digest digest = Digest::sha256_of(bytes);
    config_file_ = digest.hex() + ".json";
    config_ = write_bytes(bytes, staging_->path() + "/" + config_file_);
    blob_bytes_ += config_->size;
  }

  void take_layer(const LayerInfo& info, LayerBody* body) {
    if (body == nullptr)
      fail(Errc::bad_input, "docker-archive output needs every layer, but layer {} ({}) was skipped upstream",
           info.index + 1, info.diff_id.str());
    expected_layers_ = info.count;
    const std::string name = info.diff_id.hex() + ".tar";
    if (written_diff_ids_.insert(info.diff_id).second) {
      const WrittenBlob blob = write_layer(*body, info, Compression::none, staging_->path() + "/" + name);
      if (info.diff_id.algorithm() == "sha256" && blob.digest != info.diff_id)
        fail(Errc::integrity, "layer {} was written as {}, not its diff_id {}", info.index + 1,
             blob.digest.str(), info.diff_id.str());
      blob_bytes_ += blob.size;
      log::verbose("layer {}/{} {}: uncompressed {}", info.index + 1, info.count,
                   info.diff_id.short_str(), human_bytes(blob.size));
    } else {
      log::verbose("layer {}/{} {}: same as an earlier layer", info.index + 1, info.count,
                   info.diff_id.short_str());
    }
    layer_files_.push_back(name);
  }

  std::vector<std::string> repo_tags() const {
    if (!ref_tag_.empty()) return {ref_tag_};
    std::vector<std::string> tags;
    for (const std::string& tag : source_tags_) {
      // An OCI ref name may be a bare tag ("v2"); docker load would take that for a repository.
      if (has_tag(tag) && tag.find('@') == std::string::npos)
        tags.push_back(tag);
      else
        log::verbose("not tagging the image as '{}': not a name:tag reference", tag);
    }
    return tags;
  }

  std::string spec_text_;
  std::string ref_tag_;
  std::unique_ptr<AtomicDestination> destination_;
  std::unique_ptr<ScratchDirectory> staging_;  // the files before they are tarred

  std::vector<std::string> source_tags_;
  std::optional<WrittenBlob> config_;
  std::string config_file_;
  std::vector<std::string> layer_files_;  // in image order; a repeated layer appears again
  std::set<Digest> written_diff_ids_;
  std::size_t expected_layers_ = 0;
  std::uint64_t blob_bytes_ = 0;
  nlohmann::json result_;
};

}  // namespace

void register_docker_archive_output(Registry& registry) {
  registry.add_output("docker-archive", "docker-archive:PATH[:REF]", "a tar file for docker load",
                      [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<OutputStore> {
                        return std::make_unique<DockerArchiveOutput>(spec, ctx);
                      });
}

}  // namespace dd
