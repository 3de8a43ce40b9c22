// What a docker daemon already holds of an image about to be loaded: the leading layers of its
// chain that some image in the daemon shares, which docker load does not need to be sent again.
#pragma once

#include <cstddef>
#include <vector>

#include "clients/docker/docker_engine.h"
#include "core/digest.h"

namespace dd {

// How many leading layers of `diff_ids` the daemon holds as a chain: the longest common prefix
// with the layers (RootFS.Layers) of any image it has.
std::size_t daemon_held_prefix(DockerEngine& engine, const std::vector<Digest>& diff_ids);

// Whether the daemon's load takes an archive that names layers it holds without carrying them.
// Docker Engine's graphdriver store looks a layer up by its chain before opening its file;
// podman and the containerd image store want every file.
bool daemon_loads_archives_without_held_layers(DockerEngine& engine);

}  // namespace dd
