#include "outputs/docker_archive_output.h"

#include <filesystem>
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
    check_options(spec, {"compress", "untagged"});
    untagged_ = spec.options.count("untagged") > 0;
    // Layers are always plain tar here: what docker load of every version and skopeo read.
    if (auto it = spec.options.find("compress"); it != spec.options.end() && parse_compression(it->second) != Compression::none)
      fail(Errc::usage, "docker-archive layers are always uncompressed (docker load and skopeo expect plain tar); "
                        "--compress {} applies to oci and oci-archive destinations", it->second);
    auto [path, ref] = split_path_and_ref(spec.argument);
    if (path.empty()) fail(Errc::usage, "docker-archive needs a path: docker-archive:PATH[:REF]");
    if (!ref.empty()) ref_tag_ = repo_tag_from_ref(ref);
    destination_ = std::make_unique<AtomicDestination>(path, AtomicDestination::Kind::file, ctx.force);
    staging_ = std::make_unique<ScratchDirectory>(destination_->destination() + ".staging-");
    tar_ = std::make_unique<TarWriter>(destination_->temp_path());
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
    // It comes last, as the tags are final only now; docker load and skopeo read the whole tar.
    MemoryStream manifest_bytes(manifest.dump());
    tar_->add_file("manifest.json", manifest.dump().size(), manifest_bytes);
    tar_->close();
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
    MemoryStream config_bytes(bytes);
    tar_->add_file(config_file_, bytes.size(), config_bytes);
    config_ = WrittenBlob{digest, bytes.size(), Compression::none};
    blob_bytes_ += config_->size;
  }

  void take_layer(const LayerInfo& info, LayerBody* body) {
    if (body == nullptr)
      fail(Errc::bad_input, "docker-archive output needs every layer, but layer {} ({}) was skipped upstream",
           info.index + 1, info.diff_id.str());
    expected_layers_ = info.count;
    const std::string name = info.diff_id.hex() + ".tar";
    if (written_diff_ids_.insert(info.diff_id).second) {
      const std::uint64_t size = add_layer_to_tar(name, info, *body);
      blob_bytes_ += size;
      log::verbose("layer {}/{} {}: uncompressed {}", info.index + 1, info.count,
                   info.diff_id.short_str(), human_bytes(size));
    } else {
      log::verbose("layer {}/{} {}: same as an earlier layer", info.index + 1, info.count,
                   info.diff_id.short_str());
    }
    layer_files_.push_back(name);
  }

  // A tar entry needs its size before its bytes. An uncompressed source states it, so the layer
  // streams straight in (checked against its diff_id as it goes); a compressed one is first
  // decompressed into a staging file, one layer at a time, then copied in and deleted.
  std::uint64_t add_layer_to_tar(const std::string& name, const LayerInfo& info, LayerBody& body) {
    if (info.compression == Compression::none && info.stored.size) {
      tar_->add_file(name, *info.stored.size, body.stored());
      return *info.stored.size;
    }
    const std::string spool = staging_->path() + "/" + name;
    const WrittenBlob blob = write_layer(body, info, Compression::none, spool);
    tar_->add_file_from_path(name, spool);
    std::filesystem::remove(spool);
    return blob.size;
  }

  std::vector<std::string> repo_tags() const {
    if (untagged_) return {};
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
  bool untagged_ = false;  // no RepoTags: the docker-daemon output tags after checking the load
  std::unique_ptr<AtomicDestination> destination_;
  std::unique_ptr<ScratchDirectory> staging_;  // spool for layers whose size is known only once written
  std::unique_ptr<TarWriter> tar_;             // writes the destination's temporary file

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
