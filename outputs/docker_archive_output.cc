#include "outputs/docker_archive_output.h"

#include <memory>
#include <optional>
#include <set>
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

// The archive file itself: one image, or (a multi-image run) every image of the runs that share
// it, each layer once, named together in one manifest.json when committed.
class DockerArchiveFile : public SharedDestination {
 public:
  DockerArchiveFile(const std::string& path, const std::string& spec_text, bool force) : spec_text_(spec_text) {
    destination_ = std::make_unique<AtomicDestination>(path, OutputContent::tar_archive, force);
    staging_ = std::make_unique<ScratchDirectory>(destination_->destination(), "staging");
    // Written through our own descriptor, so a full disk is reported as such, with the path.
    tar_ = std::make_unique<TarWriter>(destination_->temp_path(),
                                       [fd = destination_->temp_fd(), what = destination_->temp_path()](
                                           const char* data, std::size_t size) { write_all(fd, data, size, what); });
    writer_ = std::make_unique<DockerArchiveWriter>(*tar_, staging_->path(), spec_text_);
  }
  const std::string& path() const { return destination_->destination(); }
  DockerArchiveWriter& writer() { return *writer_; }
  void end_image(const std::vector<std::string>& tags) {
    writer_->end_image(tags);
    images_.push_back({{"image_id", writer_->image_id().str()}, {"repo_tags", tags}, {"layers", writer_->layer_count()}});
  }
  nlohmann::json commit() override {
    writer_->finish_images();
    staging_->remove();
    destination_->commit();
    nlohmann::json result = images_.size() == 1 ? images_.front() : nlohmann::json::object();
    result["destination"] = spec_text_;
    result["bytes"] = writer_->bytes();
    result["images"] = images_;
    return result;
  }

 private:
  std::string spec_text_;
  std::unique_ptr<AtomicDestination> destination_;
  std::unique_ptr<ScratchDirectory> staging_;  // spool for layers whose size is known only once written
  std::unique_ptr<TarWriter> tar_;             // writes the destination's temporary file
  std::unique_ptr<DockerArchiveWriter> writer_;
  nlohmann::json images_ = nlohmann::json::array();
};

class DockerArchiveOutput : public OutputStore {
 public:
  DockerArchiveOutput(const StageSpec& spec, const RunContext& ctx) : spec_text_(spec.text()) {
    check_options(spec, {"compress"});
    // Layers are always plain tar here: what docker load of every version and skopeo read.
    if (auto it = spec.options.find("compress"); it != spec.options.end() && parse_compression(it->second) != Compression::none)
      fail(Errc::usage, "docker-archive layers are always uncompressed (docker load and skopeo expect plain tar); "
                        "--compress {} applies to oci and oci-archive destinations", it->second);
    // Named, not a structured binding: clang before 16 cannot capture bindings in the lambdas below.
    const auto path_and_ref = split_path_and_ref(spec.argument);
    const auto& path = path_and_ref.first;
    const auto& ref = path_and_ref.second;
    if (path.empty()) fail(Errc::usage, "docker-archive needs a path: docker-archive:PATH[:REF]");
    if (!ref.empty()) ref_tag_ = repo_tag_from_ref(ref);
    file_ = &shared_destination(
        ctx, own_, [&] { return std::make_unique<DockerArchiveFile>(path, spec_text_, ctx.force); },
        [&](const DockerArchiveFile& f) { return f.path() == path; }, spec_text_);
    earlier_ = file_->writer().written_layers();
  }

  // docker load needs every layer, but one an earlier image put in the archive is there. (As the
  // archive stood when this run began: the answer must not change during the run.)
  bool fetch_callback(const Digest& digest, BlobKind kind) override {
    return !(kind == BlobKind::layer && earlier_.count(digest) > 0);
  }

  void process_image_element(ElementType type, const std::string&, ElementData& data) override {
    switch (type) {
      case ElementType::index: break;
      case ElementType::manifest: source_tags_ = data.manifest().repo_tags; break;
      case ElementType::config: file_->writer().add_config(data.config()); break;
      case ElementType::layer: file_->writer().add_layer(data.layer(), data.body()); break;
    }
  }

  void finalize() override {
    const std::vector<std::string> tags = repo_tags();
    file_->end_image(tags);
    result_ = {{"destination", spec_text_}, {"image_id", file_->writer().image_id().str()}, {"repo_tags", tags},
               {"layers", file_->writer().layer_count()}, {"bytes", file_->writer().bytes()}};
    if (own_) result_ = own_->commit();
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
  std::unique_ptr<DockerArchiveFile> own_;  // a run of its own; else the shared one
  DockerArchiveFile* file_ = nullptr;
  std::set<Digest> earlier_;  // layers earlier images of a multi-image run wrote
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
