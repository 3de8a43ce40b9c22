// What the receiving side already has, as the sender knows it: images named by --base and
// inventories written on the receiving machine by `docker_delta inventory` (diff_ids only, so
// only dedupe can use them). The pipeline carries it in RunContext::receiver.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "delta/base_images.h"
#include "delta/inventory.h"

namespace dd {

struct Receiver {
  Inventory inventory;                // from --inventory files
  std::unique_ptr<BaseImages> bases;  // from --base; may be null
  // Several images in one package: the new layers that earlier images of the package carry,
  // uncompressed and indexed (on disk, in unlinked temporary files; in memory only their file
  // indexes). The receiver rebuilds them before it rebuilds a later image, so a later image's
  // changed layers may be encoded against them as well.
  std::vector<DeltaLayerFile> carried_layers;
  const DeltaLayerFile* carried_layer(const Digest& diff_id) const;
  // The image that holds `diff_id` on the receiving side, if any.
  std::optional<std::string> image_with_layer(const Digest& diff_id);
};

// What `create --base ... --inventory ...` gives the pipeline: the base images (read with
// pipelines built from `registry`, which must outlive it) and the inventory files' images.
// Set it as RunContext::receiver.
std::shared_ptr<Receiver> make_receiver(std::vector<StageSpec> bases, const std::vector<std::string>& inventory_files,
                                        const Registry& registry, const RunContext& ctx);

}  // namespace dd
