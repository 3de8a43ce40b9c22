// Output "dir:PATH": skopeo's directory transport (what `skopeo copy ... dir:PATH` writes and
// `skopeo inspect dir:PATH` reads): one file per blob named by the hex of its digest,
// manifest.json and `version`. Written under a temporary name, every file fsync'd, then renamed.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_dir_output(Registry& registry);

}  // namespace dd
