#include "pipeline/image_model.h"

namespace dd {

std::string_view to_string(ManifestKind kind) {
  switch (kind) {
    case ManifestKind::oci_index: return "oci-index";
    case ManifestKind::docker_manifest_list: return "docker-manifest-list";
    case ManifestKind::oci_manifest: return "oci-manifest";
    case ManifestKind::docker_schema2: return "docker-schema2";
    case ManifestKind::docker_save: return "docker-save";
  }
  return "?";
}

}  // namespace dd
