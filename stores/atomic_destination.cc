#include "stores/atomic_destination.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/byte_stream.h"
#include "core/durable_file.h"
#include "core/error.h"
#include "core/log.h"

namespace dd {
namespace fs = std::filesystem;
namespace {

// "out/" and "out" name the same destination, but only "out" gives a sibling "out.tmp-...".
std::string without_trailing_slashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

bool exists_without_following(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) return true;
  if (errno == ENOENT) return false;
  fail_errno(fmt::format("checking {}", path));
}

void require_parent_directory(const std::string& destination) {
  std::string parent = fs::path(destination).parent_path().string();
  if (parent.empty()) parent = ".";
  struct stat info {};
  if (::stat(parent.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      fail(Errc::not_found, "cannot write {}: directory {} does not exist", destination, parent);
    fail_errno(fmt::format("checking {}", parent));
  }
  if (!S_ISDIR(info.st_mode))
    fail(Errc::not_found, "cannot write {}: {} is not a directory", destination, parent);
}

std::vector<char> template_for(const std::string& prefix) {
  const std::string text = prefix + "XXXXXX";
  return std::vector<char>(text.c_str(), text.c_str() + text.size() + 1);
}

std::string make_temp_directory(const std::string& prefix) {
  std::vector<char> name = template_for(prefix);
  if (::mkdtemp(name.data()) == nullptr) fail_errno(fmt::format("creating a directory {}XXXXXX", prefix));
  return name.data();  // 0700: scratch space is nobody else's business
}

void remove_quietly(const std::string& path) noexcept {
  if (path.empty()) return;
  try {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  } catch (...) {
  }
}

// Renames without replacing anything; false when the kernel or file system cannot promise that.
bool rename_no_replace(const std::string& from, const std::string& to) {
#ifdef RENAME_NOREPLACE
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) fail(Errc::exists, "{} already exists (use --force to replace it)", to);
  if (errno != EINVAL && errno != ENOSYS) fail_errno(fmt::format("renaming {} to {}", from, to));
#endif
  (void)from;
  (void)to;
  return false;
}

}  // namespace

ScratchDirectory::ScratchDirectory(const std::string& prefix) : path_(make_temp_directory(prefix)) {}

ScratchDirectory::ScratchDirectory(const std::string& destination, std::string_view role)
    : lock_(std::make_unique<SiblingTemp>(destination, role, SiblingTemp::Kind::directory)) {
  path_ = lock_->path();
}

ScratchDirectory::~ScratchDirectory() { remove(); }

void ScratchDirectory::remove() noexcept {
  remove_quietly(path_);
  path_.clear();
  lock_.reset();
}

AtomicDestination::AtomicDestination(std::string destination, Kind kind, bool force)
    : AtomicDestination(std::move(destination),
                        kind == Kind::directory ? OutputContent::oci_layout : OutputContent::regular_file, force) {}

AtomicDestination::AtomicDestination(std::string destination, OutputContent content, bool force)
    : destination_(without_trailing_slashes(std::move(destination))), content_(content), force_(force) {
  if (destination_.empty()) fail(Errc::usage, "the destination path is empty");
  require_parent_directory(destination_);
  if (!force_ && exists_without_following(destination_))
    fail(Errc::exists, "{} already exists (use --force to replace it)", destination_);
  check_replaceable();
  remove_stale_temporaries(destination_);
  temp_ = std::make_unique<SiblingTemp>(
      destination_, "tmp", content_ == OutputContent::oci_layout || content_ == OutputContent::directory_transport ? SiblingTemp::Kind::directory : SiblingTemp::Kind::file);
  temp_path_ = temp_->path();
}

void AtomicDestination::check_replaceable() const {
  if (auto why = why_not_replaceable(destination_, content_))
    fail(Errc::exists, "{} exists and --force replaces only what docker_delta writes: {}", destination_, *why);
}

AtomicDestination::~AtomicDestination() {
  if (!committed_) remove_quietly(temp_path_);
}

void AtomicDestination::commit() {
  if (committed_) fail(Errc::internal, "{} was committed twice", destination_);
  // Data first, then the name: a crash must never leave the name on an empty or partial file.
  if (content_ == OutputContent::oci_layout || content_ == OutputContent::directory_transport)
    sync_tree(temp_path_);
  else
    sync_fd(temp_->fd(), temp_path_);
  if (force_ && exists_without_following(destination_)) {
    check_replaceable();
    replace_existing();
  } else if (!rename_no_replace(temp_path_, destination_)) {
    if (!force_ && exists_without_following(destination_))
      fail(Errc::exists, "{} already exists (use --force to replace it)", destination_);
    if (::rename(temp_path_.c_str(), destination_.c_str()) != 0)
      fail_errno(fmt::format("renaming {} to {}", temp_path_, destination_));
  }
  committed_ = true;
  temp_->unlock();
  sync_parent_directory(destination_);
}

// Swaps new and old in one step where the kernel allows it, so the destination never goes missing;
// otherwise moves the old one aside first. The old one is removed only once the new one is in place.
void AtomicDestination::replace_existing() {
  std::string old_path;
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, destination_.c_str(), RENAME_EXCHANGE) == 0) {
    old_path = temp_path_;  // the temporary name now holds the old destination
  } else if (errno != EINVAL && errno != ENOSYS) {
    fail_errno(fmt::format("replacing {} with {}", destination_, temp_path_));
  }
#endif
  if (old_path.empty()) {
    old_path = temp_path_ + ".old";
    if (::rename(destination_.c_str(), old_path.c_str()) != 0)
      fail_errno(fmt::format("moving the old {} aside", destination_));
    if (::rename(temp_path_.c_str(), destination_.c_str()) != 0) {
      const int saved = errno;
      ::rename(old_path.c_str(), destination_.c_str());  // put the old one back
      errno = saved;
      fail_errno(fmt::format("renaming {} to {}", temp_path_, destination_));
    }
  }
  // The new one is in place for good before the old one goes.
  sync_parent_directory(destination_);
  if (!remove_replaced(old_path))
    log::info("warning: could not remove all of the replaced {} (left at {})", destination_, old_path);
}

}  // namespace dd
