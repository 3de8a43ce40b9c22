#include "formats/image/image_list.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <sstream>

#include "core/byte_stream.h"
#include "core/error.h"
#include "core/printable.h"

namespace dd {
namespace {

bool is_yaml_name(const std::string& path) {
  const auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  return ends(".yml") || ends(".yaml");
}

constexpr std::size_t kMaxImages = 1024;

ImageList parse_compose(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(Errc::bad_input, "{} is not valid YAML: {}", name, e.what());
  }
  if (!root.IsMap() || !root["services"] || !root["services"].IsMap())
    fail(Errc::bad_input, "{} has no 'services' map: it is not a compose file", name);
  ImageList out;
  out.from_compose = true;
  std::set<std::string> seen;
  for (const auto& service : root["services"]) {
    const std::string service_name = service.first.IsScalar() ? service.first.Scalar() : "?";
    const YAML::Node image = service.second.IsMap() ? service.second["image"] : YAML::Node();
    if (!image || !image.IsScalar() || image.Scalar().empty())
      fail(Errc::bad_input, "{}: service '{}' has no image: (build it, tag it and name the tag there)", name, printable(service_name));
    if (seen.insert(image.Scalar()).second) out.images.push_back(image.Scalar());  // two services may run one image
    if (out.images.size() > kMaxImages) fail(Errc::limit, "{} names more than {} images", name, kMaxImages);
  }
  if (out.images.empty()) fail(Errc::bad_input, "{} names no services", name);
  return out;
}

}  // namespace

ImageList parse_image_list(const std::string& text, const std::string& name) {
  if (is_yaml_name(name)) return parse_compose(text, name);
  ImageList out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    out.images.push_back(line.substr(start));
    if (out.images.size() > kMaxImages) fail(Errc::limit, "{} names more than {} images", name, kMaxImages);
  }
  if (out.images.empty()) fail(Errc::bad_input, "{} names no images", name);
  return out;
}

ImageList read_image_list(const std::string& path, const Limits& limits) {
  SequentialFdStream in(open_for_reading(path), path);
  return parse_image_list(read_capped(in, limits.max_json_bytes, path), path);
}

}  // namespace dd
