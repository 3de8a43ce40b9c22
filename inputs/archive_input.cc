#include "inputs/archive_input.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/log.h"
#include "formats/archive/tar_tree.h"
#include "formats/image/manifest_parser.h"
#include "inputs/docker_archive_input.h"
#include "inputs/oci_layout_input.h"

namespace dd {
namespace {

// `docker save` and `ctr images export --all-platforms` write index.json and manifest.json side
// by side, but manifest.json names only the images of one platform (the host's). When
// index.json offers several platforms, a platform choice must see all of them.
bool index_is_multi_platform(const FileTree& tree, const RunContext& ctx) {
  auto stream = tree.open(tree.find("index.json"));
  const auto entries = parse_index(read_capped(*stream, ctx.limits.max_json_bytes, "index.json"), ctx.limits, "index.json");
  std::set<std::string> platforms;
  for (const auto& e : entries) {
    if (e.manifest.media_type == media_type::kOciIndex || e.manifest.media_type == media_type::kDockerManifestList)
      return true;
    if (e.platform) platforms.insert(e.platform->normalized().str());
  }
  return platforms.size() > 1;
}

}  // namespace

void register_archive_input(Registry& registry) {
  registry.add_input("archive", "archive:PATH[:REF]",
                     "a docker or OCI archive, told apart by its content",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       auto [path, ref] = split_path_and_ref(spec.argument);
                       if (path.empty()) fail(Errc::usage, "archive needs a path: archive:PATH[:REF]");
                       auto tree = TarTree::open_archive(path, ctx);
                       if (tree->contains("manifest.json") && tree->contains("index.json") &&
                           index_is_multi_platform(*tree, ctx)) {
                         log::verbose("{} holds a multi-platform index.json beside manifest.json: read as an OCI archive", path);
                         return std::make_unique<OciLayoutInput>(std::move(tree), ref, ctx);
                       }
                       // Docker 25+ archives hold both; manifest.json carries their tags, so it wins.
                       if (tree->contains("manifest.json")) {
                         log::verbose("{} is a docker archive", path);
                         return std::make_unique<DockerArchiveInput>(std::move(tree), ref, ctx);
                       }
                       if (tree->contains("index.json")) {
                         log::verbose("{} is an OCI archive", path);
                         return std::make_unique<OciLayoutInput>(std::move(tree), ref, ctx);
                       }
                       fail(Errc::bad_input, "{} is neither a docker archive nor an OCI archive (no manifest.json or index.json)", path);
                     });
}

std::string qualify_source(std::string_view text, const Registry& registry) {
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && registry.has(Registry::Role::input, text.substr(0, colon)))
    return std::string(text);
  std::error_code ec;
  const std::filesystem::path path{std::string(text)};
  if (std::filesystem::is_regular_file(path, ec)) return "archive:" + std::string(text);
  if (std::filesystem::is_directory(path, ec)) {
    // skopeo's dir: transport has manifest.json where an OCI layout has oci-layout.
    const bool dir_transport = !std::filesystem::exists(path / "oci-layout", ec) &&
                               std::filesystem::exists(path / "manifest.json", ec);
    return (dir_transport && registry.has(Registry::Role::input, "dir") ? "dir:" : "oci:") + std::string(text);
  }
  // Something shaped like a path is a missing file, not an image name.
  const bool path_like = text.empty() || text.front() == '/' || text.front() == '.' || text.ends_with(".tar") ||
                         text.ends_with(".gz") || text.ends_with(".zst") || text.ends_with(".tgz");
  if (path_like) fail(Errc::not_found, "'{}' is not a file or directory", text);
  if (registry.has(Registry::Role::input, "docker-daemon")) return "docker-daemon:" + std::string(text);
  fail(Errc::not_found,
       "'{}' is not a file or directory, so it would name an image in the docker daemon, which this "
       "version cannot read yet (give an archive or OCI layout, or a spec like docker-archive:PATH)",
       text);
}

}  // namespace dd
