// Output "docker://HOST[:PORT]/REPO[:TAG]": pushes the image to a registry. Blobs the repository
// holds already are never read: fetch_callback answers from what its tags' images hold (HEAD
// confirms each blob), and from --base images in other repositories of the registry (the blob is
// mounted from there). Layers are pushed compressed (gzip unless --compress says otherwise; a
// layer already stored so is copied as it is), the config byte for byte, and the manifest last,
// in finalize(): a failed run never leaves the tag pointing at missing blobs.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_registry_output(Registry& registry);

}  // namespace dd
