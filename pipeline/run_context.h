// Settings of one run that every stage factory may read. What is particular to one stage comes
// to it as options of its StageSpec instead; this holds only what several stages share.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/limits.h"
#include "core/progress.h"
#include "pipeline/platform.h"

namespace dd {

struct Receiver;  // delta/receiver.h: the pipeline only carries it

struct RunContext {
  Limits limits;
  bool force = false;                  // outputs may replace an existing destination
  std::optional<Platform> platform;    // --platform; unset means the host's, not enforced
  std::string temp_dir;                // for spooling; empty means $TMPDIR or /tmp
  Progress* progress = nullptr;        // may be null
  std::shared_ptr<Receiver> receiver;  // --base / --inventory: what the receiving side has
  std::string docker_host;             // --host; empty: $DOCKER_HOST, then the default socket
};

}  // namespace dd
