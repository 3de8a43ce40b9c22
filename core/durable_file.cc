#include "core/durable_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include "core/byte_stream.h"
#include "core/error.h"

namespace dd {
namespace {

std::string parent_of(const std::string& path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

}  // namespace

void sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) == 0) return;
  // Some file systems cannot fsync a directory; the data itself was synced by then.
  if (errno == EINVAL) return;
  fail_errno(fmt::format("syncing {} to disk", path));
}

void sync_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) fail_errno(fmt::format("opening {} to sync it", path));
  sync_fd(fd.get(), path);
}

void sync_tree(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) fail_errno(fmt::format("opening {} to sync it", root));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail_errno(fmt::format("checking {}", root));
  if (S_ISDIR(info.st_mode)) {
    DIR* dir = ::fdopendir(::dup(fd.get()));
    if (dir == nullptr) fail_errno(fmt::format("listing {}", root));
    std::vector<std::string> children;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") children.push_back(root + "/" + name);
    }
    ::closedir(dir);
    for (const std::string& child : children) {
      struct stat child_info {};
      if (::lstat(child.c_str(), &child_info) != 0) fail_errno(fmt::format("checking {}", child));
      if (S_ISDIR(child_info.st_mode) || S_ISREG(child_info.st_mode)) sync_tree(child);
    }
  }
  sync_fd(fd.get(), root);
}

void sync_parent_directory(const std::string& path) { sync_path(parent_of(path)); }

}  // namespace dd
