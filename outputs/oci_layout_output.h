// Output stores "oci" (an OCI image layout directory) and "oci-archive" (the same layout as a
// tar file). Layers keep their stored compression unless --compress asks for another.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_oci_outputs(Registry& registry);

}  // namespace dd
