// Input "docker-daemon:NAME[:TAG]" (or NAME@sha256:...): an image in the docker daemon (or
// podman's Docker-compatible service). The image is inspected first, so its ID and diff_ids are
// known before any layer arrives; then the daemon's save stream (GET /images/NAME/get) is read
// as it comes. Layers the pipeline wants go to temporary files while their digests are checked,
// unwanted ones are skipped; nothing is held in memory.
#pragma once

#include "pipeline/registry.h"

namespace dd {

void register_docker_daemon_input(Registry& registry);

// Checks a daemon image reference: an image reference by docker's grammar, or an image ID.
void check_daemon_reference(const std::string& reference);

}  // namespace dd
