// Temporary files and directories.
// - Anonymous ones for spooling: created in $TMPDIR (or a directory the caller names) without a name
//   (O_TMPFILE, or unlinked at once), so they vanish however the run ends.
// - Named ones beside a destination, while it is written: ".NAME.docker_delta-ROLE-PID-RANDOM".
//   The marker and the owner's pid let a later run writing the same destination remove what a
//   killed run left (its pid no longer runs and it holds no lock on the temporary).
#pragma once

#include <string>
#include <string_view>

#include "core/byte_stream.h"

namespace dd {

// `configured` is the directory the run was told to use; empty means $TMPDIR, then /tmp.
std::string temp_directory(const std::string& configured);
UniqueFd make_unlinked_temp_file(const std::string& configured);
// The same in a given directory (e.g. beside a destination, on its file system).
UniqueFd make_unlinked_temp_file_in(const std::string& directory);

// "DIR/.NAME.docker_delta-ROLE-PID-" for `destination` DIR/NAME; a random suffix completes it.
std::string sibling_temp_prefix(const std::string& destination, std::string_view role);

// A named temporary beside a destination, created with the modes the umask allows (0666 or
// 0777 before it), locked (flock) for as long as this object lives so that no other run takes
// it for stale. Not removed on destruction: the owner renames or removes it.
class SiblingTemp {
 public:
  enum class Kind { file, directory };
  SiblingTemp(const std::string& destination, std::string_view role, Kind kind);
  const std::string& path() const { return path_; }
  // The locked descriptor: for a file, opened read-write at offset 0.
  int fd() const { return fd_.get(); }
  void unlock() noexcept { fd_ = UniqueFd(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// Removes the temporaries of `destination` left by runs that were killed: named with the marker,
// their pid not running, no lock held on them. Returns how many were removed; never throws.
std::size_t remove_stale_temporaries(const std::string& destination) noexcept;

}  // namespace dd
