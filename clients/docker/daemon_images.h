// What images a docker daemon holds, by name.
#pragma once

#include <string>
#include <vector>

#include "core/limits.h"

namespace dd {

// One name per image of the daemon at `docker_host` (empty: $DOCKER_HOST, then the default
// socket): its first tag that is a valid reference, else its image ID.
std::vector<std::string> daemon_image_names(const std::string& docker_host, const Limits& limits);

}  // namespace dd
