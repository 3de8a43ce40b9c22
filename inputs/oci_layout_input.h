// Inputs "oci:DIR[:REF]" and "oci-archive:PATH[:REF]": an OCI image layout in a directory or a
// tar. Nested indexes (an index pointing at an index, as buildah writes manifest lists) are
// flattened; the platform filter then picks one image.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "formats/archive/file_tree.h"
#include "pipeline/image_model.h"
#include "pipeline/registry.h"

namespace dd {

// Where a layout keeps a manifest named by an index, and the blobs (config, layers) a manifest
// names: "blobs/sha256/<hex>" for both in an OCI layout; "<hex>.manifest.json" and "<hex>" in
// skopeo's dir: transport.
struct LayoutNaming {
  std::function<std::string(const Digest&)> manifest_path;
  std::function<std::string(const Digest&)> blob_path;
};

// Chooses by `ref` among the entries of a top-level index (several entries under one name
// without platforms: the first, as skopeo does), flattens nested indexes, emits the index
// element, and emits the one image the pipeline wants. Manifests the layout lists but does not
// hold (`ctr images export --platform`) are left out of the index element, so a partial export
// offers what it holds; an error that no image fits names them.
void emit_indexed_image(const FileTree& tree, std::vector<IndexEntry> top, const std::string& ref,
                        const LayoutNaming& naming, Stage& first, const RunContext& ctx);

class OciLayoutInput : public InputStore {
 public:
  OciLayoutInput(std::unique_ptr<FileTree> tree, std::string ref, const RunContext& ctx);
  void run(Stage& first) override;

 private:
  std::unique_ptr<FileTree> tree_;
  std::string ref_;
  const RunContext& ctx_;
};

void register_oci_layout_inputs(Registry& registry);

}  // namespace dd
