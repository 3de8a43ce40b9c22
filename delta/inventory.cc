#include "delta/inventory.h"

#include "core/byte_stream.h"
#include "core/error.h"
#include "formats/image/manifest_parser.h"

namespace dd {

void Inventory::add_image(InventoryImage image) {
  for (const auto& d : image.diff_ids) layer_image_.emplace(d, image.name);
  images_.push_back(std::move(image));
}

std::optional<std::string> Inventory::image_with_layer(const Digest& diff_id) const {
  auto it = layer_image_.find(diff_id);
  if (it == layer_image_.end()) return std::nullopt;
  return it->second;
}

nlohmann::ordered_json Inventory::to_json() const {
  nlohmann::ordered_json j;
  j["format"] = "docker_delta inventory";
  j["version"] = 1;
  auto list = nlohmann::ordered_json::array();
  for (const auto& image : images_) {
    auto layers = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < image.diff_ids.size(); ++i) {
      nlohmann::ordered_json l{{"diff_id", image.diff_ids[i].str()}};
      if (i < image.sizes.size() && image.sizes[i]) l["size"] = *image.sizes[i];
      layers.push_back(l);
    }
    list.push_back({{"name", image.name}, {"image_id", image.image_id.str()}, {"layers", layers}});
  }
  j["images"] = list;
  return j;
}

Inventory Inventory::from_json(const nlohmann::json& j, const Limits& limits, const std::string& what) {
  if (!j.is_object() || !j.contains("format") || j["format"] != "docker_delta inventory")
    fail(Errc::bad_input, "{} is not a docker_delta inventory", what);
  if (!j.contains("version") || !j["version"].is_number_unsigned() || j["version"].get<std::uint64_t>() != 1)
    fail(Errc::unsupported, "{}: unsupported inventory version", what);
  if (!j.contains("images") || !j["images"].is_array()) fail(Errc::bad_input, "{}: no 'images' list", what);
  Inventory inv;
  for (const auto& im : j["images"]) {
    if (!im.is_object() || !im.contains("layers") || !im["layers"].is_array())
      fail(Errc::bad_input, "{}: an image entry has no 'layers' list", what);
    if (im["layers"].size() > limits.max_layers) fail(Errc::limit, "{}: an image lists too many layers", what);
    InventoryImage image;
    image.name = im.contains("name") && im["name"].is_string() ? im["name"].get<std::string>() : "";
    if (im.contains("image_id") && im["image_id"].is_string())
      image.image_id = Digest::parse(im["image_id"].get<std::string>(), what + " image_id");
    for (const auto& l : im["layers"]) {
      if (!l.is_object() || !l.contains("diff_id") || !l["diff_id"].is_string())
        fail(Errc::bad_input, "{}: a layer entry has no diff_id", what);
      image.diff_ids.push_back(Digest::parse(l["diff_id"].get<std::string>(), what + " diff_id"));
      image.sizes.push_back(l.contains("size") && l["size"].is_number_unsigned()
                                ? std::optional<std::uint64_t>(l["size"].get<std::uint64_t>())
                                : std::nullopt);
    }
    inv.add_image(std::move(image));
  }
  return inv;
}

Inventory Inventory::load(const std::string& path, const Limits& limits) {
  const std::string what = "inventory " + path;
  SequentialFdStream in(open_for_reading(path), what);
  const std::string text = read_capped(in, limits.max_json_bytes, what);
  return from_json(parse_json_limited(text, limits, what), limits, what);
}

}  // namespace dd
