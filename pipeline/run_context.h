// Settings of one run that every stage factory may read.
#pragma once

#include <optional>
#include <string>

#include "pipeline/limits.h"
#include "pipeline/platform.h"
#include "pipeline/progress.h"

namespace dd {

struct RunContext {
  Limits limits;
  bool force = false;                  // outputs may replace an existing destination
  std::optional<Platform> platform;    // --platform; unset means the host's, not enforced
  std::string temp_dir;                // for spooling; empty means $TMPDIR or /tmp
  Progress* progress = nullptr;        // may be null
};

}  // namespace dd
