// Input "archive:PATH[:REF]": an archive file whose kind (docker-archive or oci-archive,
// compressed or not) is read from its content. Bare file names on the command line land here.
#pragma once

#include <string_view>

#include "pipeline/registry.h"

namespace dd {

void register_archive_input(Registry& registry);

// Turns a SOURCE written without a type prefix into a spec: an existing file is "archive:",
// an existing directory "oci:" (or "dir:" when it holds manifest.json and no oci-layout), anything
// else a docker daemon image name. Text that already
// starts with a registered input name is returned unchanged.
std::string qualify_source(std::string_view text, const Registry& registry);

}  // namespace dd
