// Which paths of a layer a list of shell globs names (the exclude filter, the search output).
// Paths are compared as a layer writes them, without a leading "./" or "/". A glob with no '/'
// names a file or directory of that name at any depth ("*.pyc", "__pycache__"); one with a '/'
// names a path from the layer's root ("usr/share/doc/*"). '*' may cross '/' (as occystrap's
// fnmatch does). A directory that matches names everything under it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dd {

class PathGlobs {
 public:
  // `list` is GLOB[,GLOB...]; `what` names the stage in a usage error.
  PathGlobs(std::string_view list, std::string_view what);
  bool matches(std::string_view path) const;
  const std::vector<std::string>& globs() const { return globs_; }

 private:
  bool matches_one(const std::string& glob, const std::string& path) const;
  std::vector<std::string> globs_;
};

// A layer path without "./" or leading and trailing '/'.
std::string normalized_layer_path(std::string_view path);

}  // namespace dd
