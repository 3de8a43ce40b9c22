// Read-only access to the files of an image source: the members of a tar archive or the files
// under an OCI layout directory. Paths inside are untrusted; every lookup goes through
// normalize_member_path and stays inside the tree, symlinks included.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/byte_stream.h"

namespace dd {

struct TreeFile {
  std::string path;    // normalised path of the regular file the lookup resolved to
  std::uint64_t size = 0;
  std::uint64_t offset = 0;  // where its bytes start, for archives
};

class FileTree {
 public:
  virtual ~FileTree() = default;
  // Resolves `path` to a regular file, following symlinks and hard links inside the tree.
  // Errc::bad_input for unsafe paths or links that leave the tree; Errc::not_found when missing.
  virtual TreeFile find(std::string_view path) const = 0;
  // find() succeeds; false when it fails with Errc::not_found (other errors are thrown).
  bool contains(std::string_view path) const;
  virtual std::unique_ptr<ByteStream> open(const TreeFile& file) const = 0;
  // "archive old.tar" or "directory out.d", for messages.
  virtual std::string describe() const = 0;

  // Reads the first bytes of a file (compression magic). A tree whose files are expensive to
  // open (a registry's blobs) asks for just those bytes.
  virtual std::string peek(const TreeFile& file, std::size_t n) const;
};

// Makes an untrusted relative path canonical: strips "./" and duplicate slashes. An absolute
// path, a ".." component, a NUL or an empty path is Errc::bad_input naming `what`.
std::string normalize_member_path(std::string_view path, std::string_view what);

// Joins a relative symlink target to the directory of the link and normalises the result;
// Errc::bad_input when it would leave the tree.
std::string resolve_link_target(std::string_view link_path, std::string_view target);

}  // namespace dd
