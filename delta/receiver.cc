#include "delta/receiver.h"

namespace dd {

std::optional<std::string> Receiver::image_with_layer(const Digest& diff_id) {
  if (auto name = inventory.image_with_layer(diff_id)) return name;
  if (bases) return bases->inventory().image_with_layer(diff_id);
  return std::nullopt;
}

const DeltaLayerFile* Receiver::carried_layer(const Digest& diff_id) const {
  for (const auto& l : carried_layers)
    if (l.diff_id == diff_id) return &l;
  return nullptr;
}

std::shared_ptr<Receiver> make_receiver(std::vector<StageSpec> bases, const std::vector<std::string>& inventory_files,
                                        const Registry& registry, const RunContext& ctx) {
  auto receiver = std::make_shared<Receiver>();
  for (const auto& path : inventory_files) {
    const Inventory inventory = Inventory::load(path, ctx.limits);
    for (const auto& image : inventory.images()) receiver->inventory.add_image(image);
  }
  if (!bases.empty()) receiver->bases = std::make_unique<BaseImages>(std::move(bases), registry, ctx);
  return receiver;
}

}  // namespace dd
