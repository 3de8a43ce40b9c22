// What each layer of a package is built from. A layer is the receiver's (reused), its own payload
// (full or delta), or travels with an earlier image of the package (packaged); a delta reads base
// layers that are the receiver's or are carried by an earlier image. The header parser allows
// only earlier images there, so following carriers always ends.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "delta/delta_package.h"

namespace dd {

// The entry that carries a layer's bytes, and where its payload starts in the package.
struct LayerCarrier {
  std::size_t image = 0;
  const PackageLayer* layer = nullptr;
  std::uint64_t offset = 0;
};

class LayerSources {
 public:
  // `header` must outlive this.
  explicit LayerSources(const PackageHeader& header);
  // The first image before `before` that carries `diff_id` (full or delta), if any.
  std::optional<LayerCarrier> carrier(const Digest& diff_id, std::size_t before) const;
  // The entry whose payload makes layer `l` of image `image`: `l` itself, or its carrier when it
  // is packaged. Errc::bad_input when a packaged layer has none.
  const PackageLayer& payload_entry(const PackageLayer& l, std::size_t image) const;
  // The receiver's layers that rebuilding image `image` reads, through carried layers and the
  // bases they are decoded against; only its layers marked in `wanted` (all when empty).
  std::set<Digest> receiver_layers_needed(std::size_t image, const std::vector<bool>& wanted = {}) const;

 private:
  void add_needs(const PackageLayer& l, std::size_t image, std::set<Digest>& out, std::set<const PackageLayer*>& seen) const;

  const PackageHeader& header_;
  std::map<Digest, LayerCarrier> first_carrier_;  // a hostile header is large: looked up, not scanned
};

}  // namespace dd
