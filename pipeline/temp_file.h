// Anonymous temporary files for spooling: created in $TMPDIR (or RunContext::temp_dir) and
// unlinked at once, so they vanish however the run ends.
#pragma once

#include <string>

#include "pipeline/byte_stream.h"
#include "pipeline/run_context.h"

namespace dd {

std::string temp_directory(const RunContext& ctx);
UniqueFd make_unlinked_temp_file(const RunContext& ctx);

}  // namespace dd
