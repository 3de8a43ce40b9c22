// What images the receiving side holds, by layer diff_id: read from --base images, or from files
// that `docker_delta inventory` wrote on the receiving machine.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/limits.h"

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

}  // namespace dd
