#include "inputs/dir_input.h"

#include <memory>

#include "core/error.h"
#include "core/log.h"
#include "core/printable.h"
#include "formats/archive/dir_tree.h"
#include "formats/image/manifest_parser.h"
#include "inputs/oci_layout_input.h"
#include "stores/image_emitter.h"

namespace dd {
namespace {

// containers/image names blobs by digest.Encoded(): the hex alone, whatever the algorithm.
std::string dir_blob_path(const Digest& digest) { return digest.hex(); }
std::string dir_instance_manifest_path(const Digest& digest) { return digest.hex() + ".manifest.json"; }

class DirInput : public InputStore {
 public:
  DirInput(std::string path, const RunContext& ctx) : tree_(path), ctx_(ctx) {}

  void run(Stage& first) override {
    const std::string where = tree_.describe();
    if (!tree_.contains("manifest.json")) {
      if (tree_.contains("oci-layout")) fail(Errc::bad_input, "{} is an OCI layout, not a dir: image (use oci:DIR)", where);
      fail(Errc::bad_input, "{} is not a dir: image directory: it has no manifest.json", where);
    }
    // skopeo's reader does not look at `version`; only say what it holds.
    if (tree_.contains("version")) {
      auto version = tree_.open(tree_.find("version"));
      log::verbose("{}: {}", where, printable(read_capped(*version, 256, "version")));
    }
    auto stream = tree_.open(tree_.find("manifest.json"));
    std::string raw = read_capped(*stream, ctx_.limits.max_json_bytes, "manifest.json");
    const ManifestKind kind = detect_manifest_kind(parse_json_limited(raw, ctx_.limits, "manifest.json"), "manifest.json");
    if (kind == ManifestKind::docker_save)
      fail(Errc::bad_input, "{}: manifest.json is a docker-save manifest: this is an unpacked docker archive, not a dir: image", where);

    if (kind == ManifestKind::oci_index || kind == ManifestKind::docker_manifest_list) {
      const LayoutNaming naming{dir_instance_manifest_path, dir_blob_path};
      emit_indexed_image(tree_, parse_index(raw, ctx_.limits, "manifest.json"), "", naming, first, ctx_);
      return;
    }
    ImageLocation image;
    image.manifest = parse_image_manifest(std::move(raw), ctx_.limits, "manifest.json");
    image.config_path = dir_blob_path(image.manifest.config.digest);
    for (const auto& layer : image.manifest.layers) image.layer_paths.push_back(dir_blob_path(layer.digest));
    emit_image(tree_, std::move(image), first, ctx_);
  }

 private:
  DirTree tree_;
  const RunContext& ctx_;
};

}  // namespace

void register_dir_input(Registry& registry) {
  registry.add_input("dir", "dir:PATH", "skopeo's directory transport (skopeo copy dir:, podman save --format docker-dir)",
                     [](const StageSpec& spec, const RunContext& ctx) -> std::unique_ptr<InputStore> {
                       check_options(spec, {});
                       // skopeo's dir: takes no reference: everything after "dir:" is the path.
                       if (spec.argument.empty()) fail(Errc::usage, "dir needs a directory: dir:PATH");
                       return std::make_unique<DirInput>(spec.argument, ctx);
                     });
}

}  // namespace dd
