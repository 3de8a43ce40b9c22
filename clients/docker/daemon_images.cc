#include "clients/docker/daemon_images.h"

#include "clients/docker/docker_engine.h"
#include "core/error.h"
#include "formats/image/image_reference.h"

namespace dd {

std::vector<std::string> daemon_image_names(const std::string& docker_host, const Limits& limits) {
  DockerEngine engine(DockerEngine::resolve_host(docker_host), limits);
  const auto list = engine.get_json("/images/json", limits.max_metadata_bytes);
  if (!list.is_array()) fail(Errc::bad_input, "docker daemon: /images/json is not a list");
  std::vector<std::string> names;
  for (const auto& image : list) {
    if (!image.is_object()) continue;
    std::string name;
    if (image.contains("Id") && image["Id"].is_string() && is_image_id(image["Id"].get<std::string>()))
      name = image["Id"].get<std::string>();
    if (image.contains("RepoTags") && image["RepoTags"].is_array())
      for (const auto& t : image["RepoTags"])
        if (t.is_string() && try_parse_image_reference(t.get<std::string>())) {
          name = t.get<std::string>();
          break;
        }
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

}  // namespace dd
