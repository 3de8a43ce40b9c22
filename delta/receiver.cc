#include "delta/receiver.h"

namespace dd {

std::optional<std::string> Receiver::image_with_layer(const Digest& diff_id) {
  if (auto name = inventory.image_with_layer(diff_id)) return name;
  if (bases) return bases->inventory().image_with_layer(diff_id);
  return std::nullopt;
}

}  // namespace dd
