// What the receiving side already has, as the sender knows it: images named by --base (read
// here, so their layers can serve as delta bases) and inventories written on the receiving
// machine by `docker_delta inventory` (diff_ids only, so only dedupe can use them).
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/tar_delta.h"
#include "pipeline/registry.h"
#include "pipeline/run_context.h"

namespace dd {

struct InventoryImage {
  std::string name;                    // a tag, or the source spec when it has none
  Digest image_id;
  std::vector<Digest> diff_ids;
  std::vector<std::optional<std::uint64_t>> sizes;  // uncompressed, when the source states it
};

class Inventory {
 public:
  void add_image(InventoryImage image);
  // The name of an image holding the layer, or nullopt.
  std::optional<std::string> image_with_layer(const Digest& diff_id) const;
  const std::vector<InventoryImage>& images() const { return images_; }
  nlohmann::ordered_json to_json() const;
  // An inventory file is untrusted input like any other: checked digests, bounded sizes.
  static Inventory from_json(const nlohmann::json& json, const Limits& limits, const std::string& what);
  static Inventory load(const std::string& path, const Limits& limits);

 private:
  std::vector<InventoryImage> images_;
  std::map<Digest, std::string> layer_image_;
};

// Reads an image of the receiver's once for its config, and again for the layers that are
// wanted, which it keeps decompressed in unlinked temporary files (verified against their
// diff_ids) for delta encoding and decoding.
class BaseImages {
 public:
  BaseImages(std::vector<StageSpec> sources, const RunContext& ctx);
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

 private:
  std::vector<DeltaLayerFile> collect_all_layers();  // on the prefetch thread: no waiting for itself
  void fetch_now(const std::set<Digest>& wanted);
  void wait_for_prefetch();

  std::vector<StageSpec> sources_;
  RunContext ctx_;
  std::optional<std::vector<DeltaLayerFile>> prefetched_;
  std::optional<Inventory> inventory_;
  std::map<Digest, DeltaLayerFile> spooled_;
  std::atomic<bool> cancel_prefetch_{false};
  // Last: destroyed (waited for) before what it writes to.
  std::future<std::vector<DeltaLayerFile>> prefetch_;
};

struct Receiver {
  Inventory inventory;                // from --inventory files
  std::unique_ptr<BaseImages> bases;  // from --base; may be null
  // The image that holds `diff_id` on the receiving side, if any.
  std::optional<std::string> image_with_layer(const Digest& diff_id);
};

}  // namespace dd
