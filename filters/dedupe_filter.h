// Filter "dedupe": a layer the receiving side already has (by diff_id, from --base images or
// --inventory files) is declined in fetch_callback, so its body is never read; it still passes
// as an element, which a delta package records as reused.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_dedupe_filter(Registry& registry);

}  // namespace dd
