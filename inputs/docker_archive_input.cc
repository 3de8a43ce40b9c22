#include "inputs/docker_archive_input.h"

#include <charconv>

#include "core/error.h"
#include "formats/archive/tar_tree.h"
#include "formats/image/image_reference.h"
#include "formats/image/manifest_parser.h"
#include "stores/image_emitter.h"

namespace dd {
namespace {

// docker writes "busybox:latest"; users type "busybox", "docker.io/library/busybox:latest"...
// A text that is not a reference by docker's grammar is compared as it is.
std::string normal_tag(const std::string& ref) {
  const auto parsed = try_parse_image_reference(ref);
  if (!parsed || !parsed->digest.empty()) return ref;
  return parsed->familiar_name() + ":" + parsed->tag_or_latest();
}

std::size_t select_image(const std::vector<DockerSaveEntry>& entries, const std::string& selector,
                         const std::string& where) {
  if (entries.empty()) fail(Errc::bad_input, "{}: manifest.json lists no images", where);
  if (selector.empty()) {
    if (entries.size() == 1) return 0;
    std::string names;
    for (std::size_t i = 0; i < entries.size(); ++i)
      names += fmt::format("{}@{}{}", i ? ", " : "", i,
                           entries[i].repo_tags.empty() ? "" : " (" + entries[i].repo_tags[0] + ")");
    fail(Errc::usage, "{} holds {} images ({}): choose one with docker-archive:PATH:REF or :@INDEX",
         where, entries.size(), names);
  }
  if (selector.front() == '@') {
    std::size_t index = 0;
    const auto* end = selector.data() + selector.size();
    auto [ptr, ec] = std::from_chars(selector.data() + 1, end, index);
    if (ec != std::errc() || ptr != end || selector.size() == 1)
      fail(Errc::usage, "'{}' is not an image index (@0, @1, ...)", selector);
    if (index >= entries.size())
      fail(Errc::not_found, "{} holds {} images; there is no @{}", where, entries.size(), index);
    return index;
  }
  const std::string wanted = normal_tag(selector);
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (const auto& tag : entries[i].repo_tags)
      if (normal_tag(tag) == wanted) return i;
  fail(Errc::not_found, "{} holds no image tagged '{}'", where, selector);
}

}  // namespace

DockerArchiveInput::DockerArchiveInput(std::unique_ptr<FileTree> tree, std::string selector, const RunContext& ctx)
    : tree_(std::move(tree)), selector_(std::move(selector)), ctx_(ctx) {}

void DockerArchiveInput::run(Stage& first) {
  const std::string where = tree_->describe();
  if (!tree_->contains("manifest.json")) {
    if (tree_->contains("index.json"))
      fail(Errc::bad_input, "{} is an OCI archive, not a docker archive (use oci-archive:PATH)", where);
    fail(Errc::bad_input, "{} has no manifest.json: it is not a docker archive", where);
  }
  auto stream = tree_->open(tree_->find("manifest.json"));
  const std::string raw = read_capped(*stream, ctx_.limits.max_json_bytes, "manifest.json");
  const auto entries = parse_docker_save_manifest(raw, ctx_.limits);
  const DockerSaveEntry& entry = entries[select_image(entries, selector_, where)];

  ImageLocation image;
  image.manifest.kind = ManifestKind::docker_save;
  image.manifest.repo_tags = entry.repo_tags;
  image.manifest.config.media_type = media_type::kDockerConfig;
  image.manifest.config.digest = digest_from_path(normalize_member_path(entry.config_path, "manifest.json Config"));
  image.config_path = entry.config_path;
  for (const auto& path : entry.layer_paths) {
    Descriptor d;
    d.media_type = media_type::kDockerLayer;
    d.digest = digest_from_path(normalize_member_path(path, "manifest.json layer"));
    image.manifest.layers.push_back(d);
    image.layer_paths.push_back(path);
  }
  emit_image(*tree_, std::move(image), first, ctx_);
}

void register_docker_archive_input(Registry& registry) {
  registry.add_input("docker-archive", "docker-archive:PATH[:REF|:@INDEX]",
                     "a tar written by docker save, podman save, skopeo or buildah (gzip/zstd compressed too)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       auto [path, ref] = split_path_and_ref(spec.argument);
                       if (path.empty()) fail(Errc::usage, "docker-archive needs a path: docker-archive:PATH[:REF]");
                       return std::make_unique<DockerArchiveInput>(TarTree::open_archive(path, ctx), ref, ctx);
                     });
}

}  // namespace dd
