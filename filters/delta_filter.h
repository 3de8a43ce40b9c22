// Filter "delta[:METHOD]": encodes each layer that passes with a body as a delta against the
// layers of the --base images (and, in a package of several images, against the layers earlier
// images carry) (METHOD zstd, the default, xdelta3 or bsdiff), and keeps whichever
// is smaller of that delta and the whole layer compressed as the package asks. The result rides
// along as the element's payload; the layer body is still passed on for other stages.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_delta_filter(Registry& registry);

}  // namespace dd
