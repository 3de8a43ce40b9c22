// The files under a directory (an OCI image layout). Lookups are confined to the directory:
// a symlink that resolves outside it is refused.
#pragma once

#include <filesystem>

#include "formats/archive/file_tree.h"

namespace dd {

class DirTree : public FileTree {
 public:
  explicit DirTree(const std::string& root);
  TreeFile find(std::string_view path) const override;
  std::unique_ptr<ByteStream> open(const TreeFile& file) const override;
  std::string describe() const override { return "directory " + display_; }

 private:
  std::filesystem::path root_;  // canonical
  std::string display_;
};

}  // namespace dd
