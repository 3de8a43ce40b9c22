#include "formats/archive/path_glob.h"

#include <fnmatch.h>

#include "core/error.h"

namespace dd {

std::string normalized_layer_path(std::string_view path) {
  std::string p(path);
  for (;;) {
    if (p.rfind("./", 0) == 0) p.erase(0, 2);
    else if (!p.empty() && p.front() == '/') p.erase(0, 1);
    else break;
  }
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p == ".") p.clear();
  return p;
}

PathGlobs::PathGlobs(std::string_view list, std::string_view what) {
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string glob = normalized_layer_path(list.substr(start, comma - start));
    if (!glob.empty()) globs_.push_back(glob);
    start = comma + 1;
  }
  if (globs_.empty()) fail(Errc::usage, "{} needs at least one GLOB, e.g. {}:'*.pyc,usr/share/doc'", what, what);
}

bool PathGlobs::matches_one(const std::string& glob, const std::string& path) const {
  const bool anchored = glob.find('/') != std::string::npos;
  // The path and each directory above it; unanchored globs are tried against each name.
  std::size_t end = path.size();
  for (;;) {
    const std::string prefix = path.substr(0, end);
    if (anchored) {
      if (::fnmatch(glob.c_str(), prefix.c_str(), 0) == 0) return true;
    } else {
      const std::size_t slash = prefix.rfind('/');
      const std::string name = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
      if (::fnmatch(glob.c_str(), name.c_str(), 0) == 0) return true;
    }
    const std::size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
    if (slash == std::string::npos || end == 0) return false;
    end = slash;
  }
}

bool PathGlobs::matches(std::string_view raw) const {
  const std::string path = normalized_layer_path(raw);
  if (path.empty()) return false;  // the layer's root is never excluded
  for (const auto& g : globs_)
    if (matches_one(g, path)) return true;
  return false;
}

}  // namespace dd
