// Output "delta:PACKAGE": writes a delta package (docs/delta-format.md). Layers arrive reused
// (no body: the receiver has them), as payloads a delta filter made, or with a body, which is
// compressed whole as -c/-l ask. With the option dry-run it computes everything, writes nothing.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_delta_output(Registry& registry);

}  // namespace dd
