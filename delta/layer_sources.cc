#include "delta/layer_sources.h"

#include "core/error.h"

namespace dd {

LayerSources::LayerSources(const PackageHeader& header) : header_(header) {
  std::uint64_t offset = header.prefix_bytes;
  for (std::size_t k = 0; k < header.images.size(); ++k) {
    const PackageImage& image = header.images[k];
    offset += image.config_size;
    for (const auto& c : image.layers) {
      if (c.shipping != Shipping::full && c.shipping != Shipping::delta) continue;
      first_carrier_.emplace(c.diff_id, LayerCarrier{k, &c, offset});
      offset += c.payload_size;
    }
  }
}

std::optional<LayerCarrier> LayerSources::carrier(const Digest& diff_id, std::size_t before) const {
  auto it = first_carrier_.find(diff_id);
  if (it == first_carrier_.end() || it->second.image >= before) return std::nullopt;
  return it->second;
}

const PackageLayer& LayerSources::payload_entry(const PackageLayer& l, std::size_t image) const {
  if (l.shipping != Shipping::packaged) return l;
  if (const auto c = carrier(l.diff_id, image)) return *c->layer;
  fail(Errc::bad_input, "layer {} travels with an earlier image, but none carries it", l.diff_id.short_str());
}

void LayerSources::add_needs(const PackageLayer& l, std::size_t image, std::set<Digest>& out,
                             std::set<const PackageLayer*>& seen) const {
  if (!seen.insert(&l).second) return;  // a layer many images share is followed once
  if (l.shipping == Shipping::reused) {
    out.insert(l.diff_id);
    return;
  }
  if (l.shipping == Shipping::packaged) {
    if (const auto c = carrier(l.diff_id, image)) add_needs(*c->layer, c->image, out, seen);
    return;
  }
  for (const auto& b : l.bases) {
    if (const auto c = carrier(b, image)) add_needs(*c->layer, c->image, out, seen);
    else out.insert(b);
  }
}

std::set<Digest> LayerSources::receiver_layers_needed(std::size_t image, const std::vector<bool>& wanted) const {
  std::set<Digest> out;
  std::set<const PackageLayer*> seen;
  const auto& layers = header_.images.at(image).layers;
  for (std::size_t i = 0; i < layers.size(); ++i)
    if (wanted.empty() || wanted.at(i)) add_needs(layers[i], image, out, seen);
  return out;
}

}  // namespace dd
