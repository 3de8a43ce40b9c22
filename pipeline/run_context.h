// Settings of one run that every stage factory may read.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "formats/compression.h"
#include "pipeline/limits.h"
#include "pipeline/platform.h"
#include "pipeline/progress.h"

namespace dd {

struct Receiver;

// How a delta package compresses whole-layer payloads (-c/--compression, -l/--level).
struct PayloadSettings {
  Compression compression = Compression::zstd;
  int level = 0;  // 0: the format's default; zstd takes negative (fast) levels too
};

struct RunContext {
  Limits limits;
  bool force = false;                  // outputs may replace an existing destination
  std::optional<Platform> platform;    // --platform; unset means the host's, not enforced
  std::string temp_dir;                // for spooling; empty means $TMPDIR or /tmp
  Progress* progress = nullptr;        // may be null
  std::shared_ptr<Receiver> receiver;
  PayloadSettings payload;
  std::string docker_host;             // --host; empty: $DOCKER_HOST, then the default socket  // --base / --inventory: what the receiving side has
};

}  // namespace dd
