// The one place that knows every concrete stage: registers them all. Each stage file provides
// its own register_* function; adding a stage adds one line here.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_builtin_stages(Registry& registry);
const Registry& builtin_registry();

}  // namespace dd
