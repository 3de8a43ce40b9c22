// Settings of one run that every stage factory may read. What is particular to one stage comes
// to it as options of its StageSpec instead; this holds only what several stages share.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/limits.h"
#include "core/progress.h"
#include "pipeline/platform.h"

namespace dd {

struct Receiver;  // delta/receiver.h: the pipeline only carries it

// A destination that several runs write into, one image each (a package for a stack, a
// multi-image archive): the first run's output leaves its state here, the outputs of later runs
// add to it, and whoever ran them commits once, after the last.
class SharedDestination {
 public:
  virtual ~SharedDestination() = default;
  // Makes everything the runs added appear at the destination; returns what it wrote.
  virtual nlohmann::json commit() = 0;
};
struct MultiImageRun {
  std::unique_ptr<SharedDestination> destination;  // set by the first run's output
};

// How to reach registries (docker://): every registry stage of a run (source, bases,
// destination) uses the same settings; credentials otherwise come from the auth files.
struct RegistryOptions {
  std::string creds;        // --creds USER:PASSWORD; empty: the auth files
  bool tls_verify = true;   // --tls-verify=false: no certificate checks, plain HTTP allowed
  std::string cert_dir;     // --cert-dir: ca.crt, client.cert, client.key; empty: certs.d per host
};

struct RunContext {
  Limits limits;
  bool force = false;                  // outputs may replace an existing destination
  std::optional<Platform> platform;    // --platform; unset means the host's, not enforced
  std::string temp_dir;                // for spooling; empty means $TMPDIR or /tmp
  Progress* progress = nullptr;        // may be null
  std::shared_ptr<Receiver> receiver;  // --base / --inventory: what the receiving side has
  std::string docker_host;             // --host; empty: $DOCKER_HOST, then the default socket
  RegistryOptions registry;            // --creds, --tls-verify, --cert-dir
  std::shared_ptr<MultiImageRun> multi_image;  // set: this run adds one image to a shared destination
};

// Where an output of type T writes: alone, into `own`, which `make` makes; in a multi-image run,
// into the destination the first run's output made (with `make`), which `same` must accept as
// the one this output names.
template <class T, class Make, class Same>
T& shared_destination(const RunContext& ctx, std::unique_ptr<T>& own, Make make, Same same, const std::string& what) {
  if (!ctx.multi_image) {
    own = make();
    return *own;
  }
  auto& slot = ctx.multi_image->destination;
  if (!slot) slot = make();
  auto* shared = dynamic_cast<T*>(slot.get());
  if (shared == nullptr || !same(*shared)) fail(Errc::internal, "{}: the images of one run go to one destination", what);
  return *shared;
}

}  // namespace dd
