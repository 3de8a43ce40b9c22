// Input "docker://HOST[:PORT]/REPO[:TAG|@DIGEST]": an image in a registry, read over the
// distribution API. An index is flattened and the platform filter picks one image, as for an OCI
// layout; blobs are streamed and checked against their digests as they arrive.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_registry_input(Registry& registry);

}  // namespace dd
