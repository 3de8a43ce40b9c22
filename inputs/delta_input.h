// Input "delta:PACKAGE" (or delta:- for standard input): rebuilds the image a delta package
// describes from its payloads and the layers of the --base images. Checks first that the bases
// hold every layer the package needs; every payload is verified before it is decoded, and every
// rebuilt layer and the config are verified against the digests the image names.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_delta_input(Registry& registry);

}  // namespace dd
