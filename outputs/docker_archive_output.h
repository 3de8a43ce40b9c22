// Output store "docker-archive": a tar file in the layout `docker save` writes and `docker load`
// reads (manifest.json, <config-hex>.json, uncompressed <diff_id-hex>.tar layers).
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_docker_archive_output(Registry& registry);

}  // namespace dd
