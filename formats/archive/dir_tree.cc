#include "formats/archive/dir_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/error.h"

namespace fs = std::filesystem;

namespace dd {

DirTree::DirTree(const std::string& root) : display_(root) {
  std::error_code ec;
  root_ = fs::canonical(root, ec);
  if (ec) fail(Errc::not_found, "{}: {}", root, ec.message());
  if (!fs::is_directory(root_)) fail(Errc::bad_input, "{} is not a directory", root);
}

TreeFile DirTree::find(std::string_view path) const {
  const std::string rel = normalize_member_path(path, describe());
  std::error_code ec;
  const fs::path real = fs::canonical(root_ / rel, ec);
  if (ec) fail(Errc::not_found, "{} has no file '{}'", describe(), rel);
  const auto rel_to_root = real.lexically_relative(root_);
  if (rel_to_root.empty() || *rel_to_root.begin() == "..")
    fail(Errc::bad_input, "{}: '{}' is a link that leaves the directory", describe(), rel);
  struct stat st{};
  if (::stat(real.c_str(), &st) != 0) fail_errno(real.string());
  if (!S_ISREG(st.st_mode)) fail(Errc::bad_input, "{}: '{}' is not a regular file", describe(), rel);
  return TreeFile{real.string(), static_cast<std::uint64_t>(st.st_size), 0};
}

// find() checked the path; opening it again must still give that regular file, not a link or
// FIFO swapped in since (O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it).
std::unique_ptr<ByteStream> DirTree::open(const TreeFile& file) const {
  const int raw = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (raw < 0) fail_errno(file.path);
  auto fd = std::make_shared<UniqueFd>(raw);
  struct stat st{};
  if (fstat(fd->get(), &st) != 0) fail_errno(file.path);
  if (!S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) != file.size)
    fail(Errc::bad_input, "{} changed while it was being read", file.path);
  return std::make_unique<FileRangeStream>(fd, 0, file.size, file.path);
}

}  // namespace dd
