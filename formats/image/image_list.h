// The images of a stack, as `create --images-from FILE` reads them: a compose file's `image:`
// keys (docker-compose.yml, compose.yaml, or any .yml/.yaml file), else one image per line
// (blank lines and lines starting with '#' skipped).
#pragma once

#include <string>
#include <vector>

#include "core/limits.h"

namespace dd {

struct ImageList {
  std::vector<std::string> images;  // as written: image references (compose) or sources (a list)
  bool from_compose = false;
};

ImageList read_image_list(const std::string& path, const Limits& limits);
// The same from text already read; `name` decides compose or list, and names the file in errors.
ImageList parse_image_list(const std::string& text, const std::string& name);

}  // namespace dd
