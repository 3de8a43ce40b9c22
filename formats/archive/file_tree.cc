#include "formats/archive/file_tree.h"

#include <vector>

#include "core/error.h"

namespace dd {

bool FileTree::contains(std::string_view path) const {
  try {
    find(path);
    return true;
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return false;
    throw;
  }
}

std::string FileTree::peek(const TreeFile& file, std::size_t n) const { return read_prefix(*open(file), n); }

std::string normalize_member_path(std::string_view path, std::string_view what) {
  if (path.empty()) fail(Errc::bad_input, "{}: empty path", what);
  if (path.find('\0') != std::string_view::npos) fail(Errc::bad_input, "{}: path contains a NUL byte", what);
  if (path.front() == '/') fail(Errc::bad_input, "{}: absolute path '{}' is not allowed", what, path);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto part = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") fail(Errc::bad_input, "{}: path '{}' leaves the archive ('..')", what, path);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.empty()) fail(Errc::bad_input, "{}: path '{}' names no file", what, path);
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::string resolve_link_target(std::string_view link_path, std::string_view target) {
  if (target.empty()) fail(Errc::bad_input, "symlink '{}' has an empty target", link_path);
  if (target.front() == '/')
    fail(Errc::bad_input, "symlink '{}' points outside the archive (absolute target '{}')", link_path, target);
  std::vector<std::string> parts;
  const auto slash = link_path.rfind('/');
  std::string joined = slash == std::string_view::npos ? std::string(target)
                                                       : std::string(link_path.substr(0, slash + 1)) + std::string(target);
  std::size_t start = 0;
  while (start <= joined.size()) {
    const auto next = joined.find('/', start);
    const std::string part = joined.substr(start, next == std::string::npos ? std::string::npos : next - start);
    if (part == "..") {
      if (parts.empty())
        fail(Errc::bad_input, "symlink '{}' points outside the archive ('{}')", link_path, target);
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (next == std::string::npos) break;
    start = next + 1;
  }
  if (parts.empty()) fail(Errc::bad_input, "symlink '{}' points at the archive root", link_path);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace dd
