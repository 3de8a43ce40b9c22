// Outputs appear atomically and durably: everything is written to a temporary sibling of the
// destination (".NAME.docker_delta-tmp-PID-RANDOM", see pipeline/temp_file.h), synced to disk,
// renamed into place only when the whole image was written, and the directory synced after. A
// failed run leaves nothing behind; a killed one leaves a temporary the next run removes.
#pragma once

#include <memory>
#include <string>

#include "core/temp_file.h"
#include "stores/replaceable_destination.h"

namespace dd {

// A directory removed with everything in it on destruction: staging space for an output.
class ScratchDirectory {
 public:
  // Creates a new directory named `prefix` followed by six random characters.
  explicit ScratchDirectory(const std::string& prefix);
  // Creates ".NAME.docker_delta-ROLE-PID-RANDOM" beside `destination`, which a later run removes
  // if this one is killed.
  ScratchDirectory(const std::string& destination, std::string_view role);
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }
  // Removes the directory now (it will not exist afterwards); errors are ignored.
  void remove() noexcept;
  // Forgets the directory without removing it (it was renamed elsewhere).
  void release() noexcept {
    path_.clear();
    lock_.reset();
  }

 private:
  std::string path_;
  std::unique_ptr<SiblingTemp> lock_;  // held while the directory lives: a later run sees it in use
};

class AtomicDestination {
 public:
  enum class Kind { file, directory };

  // Fails with Errc::exists when `destination` exists and !force, or when with force it is not
  // something an output of `content` may replace (outputs/replaceable_destination.h); with
  // Errc::not_found when its parent directory does not exist. Removes the temporaries of killed
  // runs, then creates this run's: an empty file (0666) or directory (0777), less the umask.
  AtomicDestination(std::string destination, OutputContent content, bool force);
  // Kind::file replaces any regular file, Kind::directory an OCI layout.
  AtomicDestination(std::string destination, Kind kind, bool force);
  // Removes the temporary unless commit() succeeded. Never throws.
  ~AtomicDestination();
  AtomicDestination(const AtomicDestination&) = delete;
  AtomicDestination& operator=(const AtomicDestination&) = delete;

  const std::string& destination() const { return destination_; }
  // Where to write: the temporary file or directory.
  const std::string& temp_path() const { return temp_path_; }
  // For a file: a read-write descriptor of the temporary, at offset 0.
  int temp_fd() const { return temp_->fd(); }
  // Syncs the temporary (a directory: everything in it) to disk, renames it into place, syncs
  // the parent directory; with force, an existing destination is replaced.
  void commit();
  bool committed() const { return committed_; }

 private:
  void replace_existing();

  void check_replaceable() const;

  std::string destination_;
  OutputContent content_;
  bool force_;
  std::unique_ptr<SiblingTemp> temp_;
  std::string temp_path_;
  bool committed_ = false;
};

}  // namespace dd
