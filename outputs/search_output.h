// Output "search:GLOB[,GLOB...]": reads every layer and records which layer holds each path that
// matches (path_glob.h), as occystrap's search does; it writes no image. Every layer is still
// checked against its digests on the way.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_search_output(Registry& registry);

}  // namespace dd
