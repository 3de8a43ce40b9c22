// The receiver's images named by --base, read here so that their layers can serve as delta
// bases (create) and as the layers a package builds on (apply).
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "delta/delta_layer_file.h"
#include "delta/inventory.h"
#include "pipeline/registry.h"
#include "pipeline/run_context.h"

namespace dd {

// Reads an image of the receiver's once for its config, and again for the layers that are
// wanted, which it keeps decompressed in unlinked temporary files (verified against their
// diff_ids) for delta encoding and decoding.
class BaseImages {
 public:
  // The bases are read with pipelines built from `registry` (which must outlive this).
  BaseImages(std::vector<StageSpec> sources, const Registry& registry, const RunContext& ctx);
  ~BaseImages();
  const Inventory& inventory();
  // Spools every wanted layer not yet held. Errc::not_found naming the first that no base has.
  void fetch(const std::set<Digest>& wanted);
  // Every layer of every base image, bottom first, each once, spooled and indexed.
  std::vector<DeltaLayerFile> all_layers();
  // Starts all_layers() on another thread, so the bases are read while the new image is (two
  // daemon exports at once). Other calls wait for it; all_layers() returns its result. Destruction
  // (a run that failed) cancels it at its next read and waits only for that.
  void prefetch_all_layers();
  // A layer fetched before.
  const DeltaLayerFile& layer(const Digest& diff_id);
  bool empty() const { return sources_.empty(); }
  const std::vector<StageSpec>& sources() const { return sources_; }

 private:
  std::vector<DeltaLayerFile> collect_all_layers();  // on the prefetch thread: no waiting for itself
  void fetch_now(const std::set<Digest>& wanted);
  void wait_for_prefetch();

  std::vector<StageSpec> sources_;
  const Registry& registry_;
  RunContext ctx_;
  std::optional<std::vector<DeltaLayerFile>> prefetched_;
  std::optional<Inventory> inventory_;
  std::map<Digest, DeltaLayerFile> spooled_;
  std::atomic<bool> cancel_prefetch_{false};
  // Last: destroyed (waited for) before what it writes to.
  std::future<std::vector<DeltaLayerFile>> prefetch_;
};

}  // namespace dd
