#include "outputs/docker_archive_output.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "formats/archive/tar_writer.h"
#include "formats/compression/compression.h"
#include "formats/image/image_reference.h"
#include "stores/atomic_destination.h"
#include "stores/docker_archive_writer.h"

namespace dd {
namespace {

// The name docker load tags the image with: REF by docker's grammar, with ":latest" when it has
// no tag, in the short form docker itself writes ("app:v1", "localhost:5000/team/app:v1").
std::string repo_tag_from_ref(const std::string& ref) {
  std::string why;
  const auto parsed = try_parse_image_reference(ref, &why);
  if (!parsed) fail(Errc::usage, "'{}' is not a valid image reference: {}", printable(ref), why);
  if (!parsed->digest.empty())
    fail(Errc::usage, "docker-archive needs a tag, not a digest: '{}' (docker load cannot tag by digest)", printable(ref));
  return parsed->familiar_name() + ":" + parsed->tag_or_latest();
}

// A source's tag as docker load would take it: NAME:TAG by docker's grammar, else nothing (an
// OCI ref name may be a bare tag, "v2", which docker load would take for a repository).
std::optional<std::string> loadable_tag(const std::string& tag) {
  const auto parsed = try_parse_image_reference(tag);
  if (!parsed || parsed->tag.empty() || !parsed->digest.empty()) return std::nullopt;
  return parsed->familiar();
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
    destination_ = std::make_unique<AtomicDestination>(path, OutputContent::tar_archive, ctx.force);
    staging_ = std::make_unique<ScratchDirectory>(destination_->destination(), "staging");
    // Written through our own descriptor, so a full disk is reported as such, with the path.
    tar_ = std::make_unique<TarWriter>(destination_->temp_path(),
                                       [fd = destination_->temp_fd(), what = destination_->temp_path()](
                                           const char* data, std::size_t size) { write_all(fd, data, size, what); });
    writer_ = std::make_unique<DockerArchiveWriter>(*tar_, staging_->path(), spec_text_);
  }

  bool fetch_callback(const Digest&, BlobKind) override { return true; }  // docker load needs every layer

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest: source_tags_ = data.manifest().repo_tags; break;
      case ElementType::config: writer_->add_config(data.config()); break;
      case ElementType::layer: writer_->add_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    const std::vector<std::string> tags = repo_tags();
    writer_->finish(tags);
    staging_->remove();
    destination_->commit();
    result_ = {{"destination", spec_text_},
               {"image_id", writer_->image_id().str()},
               {"repo_tags", tags},
               {"layers", writer_->layer_count()},
               {"bytes", writer_->bytes()}};
  }

  nlohmann::json result() const override { return result_; }

 private:
  std::vector<std::string> repo_tags() const {
    if (!ref_tag_.empty()) return {ref_tag_};
    std::vector<std::string> tags;
    for (const std::string& tag : source_tags_) {
      if (auto loadable = loadable_tag(tag))
        tags.push_back(*loadable);
      else
        log::verbose("not tagging the image as '{}': not a name:tag reference", printable(tag));
    }
    return tags;
  }

  std::string spec_text_;
  std::string ref_tag_;
  std::unique_ptr<AtomicDestination> destination_;
  std::unique_ptr<ScratchDirectory> staging_;  // spool for layers whose size is known only once written
  std::unique_ptr<TarWriter> tar_;             // writes the destination's temporary file
  std::unique_ptr<DockerArchiveWriter> writer_;
  std::vector<std::string> source_tags_;
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
