// Input "dir:PATH": skopeo's directory transport, as `skopeo copy ... dir:PATH` and
// `podman save --format docker-dir` write it: manifest.json, one file per blob named by the hex
// of its digest, and a `version` file. When manifest.json is an index (`skopeo copy --all`),
// each image's manifest is `<hex>.manifest.json` and the platform filter picks one.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_dir_input(Registry& registry);

}  // namespace dd
