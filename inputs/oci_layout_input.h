// Inputs "oci:DIR[:REF]" and "oci-archive:PATH[:REF]": an OCI image layout in a directory or a
// tar. Nested indexes (an index pointing at an index, as buildah writes manifest lists) are
// flattened; the platform filter then picks one image.
#pragma once

#include <memory>
#include <string>

#include "formats/file_tree.h"
#include "pipeline/registry.h"

namespace dd {

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
