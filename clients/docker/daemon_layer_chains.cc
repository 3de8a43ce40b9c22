#include "clients/docker/daemon_layer_chains.h"

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "formats/image/image_reference.h"

namespace dd {

std::size_t daemon_held_prefix(DockerEngine& engine, const std::vector<Digest>& diff_ids) {
  const auto list = engine.get_json("/images/json", Limits{}.max_metadata_bytes);
  if (!list.is_array()) fail(Errc::bad_input, "docker daemon: /images/json is not a list");
  std::size_t best = 0;
  for (const auto& image : list) {
    if (best == diff_ids.size()) break;
    const std::string id = image.is_object() && image.contains("Id") && image["Id"].is_string() ? image["Id"].get<std::string>() : "";
    if (!is_image_id(id)) continue;
    nlohmann::json inspect;
    try {
      inspect = engine.get_json("/images/" + url_path(id) + "/json");
    } catch (const Error& e) {
      if (e.code() != Errc::not_found) throw;
      continue;  // removed since the list was made
    }
    if (!inspect.is_object() || !inspect.contains("RootFS") || !inspect["RootFS"].is_object() ||
        !inspect["RootFS"].contains("Layers"))
      continue;
    const auto& layers = inspect["RootFS"]["Layers"];
    if (!layers.is_array()) continue;
    std::size_t shared = 0;
    while (shared < diff_ids.size() && shared < layers.size() && layers[shared].is_string() &&
           layers[shared].get<std::string>() == diff_ids[shared].str())
      ++shared;
    best = std::max(best, shared);
  }
  return best;
}

bool daemon_loads_archives_without_held_layers(DockerEngine& engine) {
  const auto version = engine.get_json("/version");
  bool docker_engine = false;
  if (version.is_object() && version.contains("Components") && version["Components"].is_array())
    for (const auto& c : version["Components"])
      if (c.is_object() && c.contains("Name") && c["Name"] == "Engine") docker_engine = true;
  if (!docker_engine) {
    log::verbose("docker daemon at {} is not Docker Engine: every layer is sent", engine.host());
    return false;
  }
  const auto info = engine.get_json("/info");
  if (info.is_object() && info.contains("DriverStatus") && info["DriverStatus"].is_array())
    for (const auto& pair : info["DriverStatus"])
      if (pair.is_array() && pair.size() == 2 && pair[1] == "io.containerd.snapshotter.v1") {
        log::verbose("docker daemon at {} keeps images in containerd: every layer is sent", engine.host());
        return false;
      }
  return true;
}

}  // namespace dd
