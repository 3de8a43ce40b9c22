// Output "docker-daemon:NAME[:TAG]": loads the image into the docker daemon (or podman's
// service) and tags it. The image is written as a docker-loadable tar, loaded untagged through
// POST /images/load, then tagged NAME:TAG, then inspected to confirm the image ID: a failed load
// leaves nothing tagged. Without NAME the image keeps the source's own name.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_docker_daemon_output(Registry& registry);

}  // namespace dd
