// Outputs appear atomically: everything is written to a temporary sibling of the destination and
// renamed into place only when the whole image was written. A failed run leaves nothing behind.
#pragma once

#include <string>

namespace dd {

// A directory removed with everything in it on destruction: staging space for an output.
class ScratchDirectory {
 public:
  // Creates a new directory named `prefix` followed by six random characters.
  explicit ScratchDirectory(const std::string& prefix);
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }
  // Removes the directory now (it will not exist afterwards); errors are ignored.
  void remove() noexcept;
  // Forgets the directory without removing it (it was renamed elsewhere).
  void release() noexcept { path_.clear(); }

 private:
  std::string path_;
};

class AtomicDestination {
 public:
  enum class Kind { file, directory };

  // Fails with Errc::exists when `destination` exists and !force, and with Errc::not_found when
  // its parent directory does not exist. Creates the temporary `<destination>.tmp-XXXXXX`: an
  // empty file (mode 0644) or an empty directory (mode 0755).
  AtomicDestination(std::string destination, Kind kind, bool force);
  // Removes the temporary unless commit() succeeded. Never throws.
  ~AtomicDestination();
  AtomicDestination(const AtomicDestination&) = delete;
  AtomicDestination& operator=(const AtomicDestination&) = delete;

  const std::string& destination() const { return destination_; }
  // Where to write: the temporary file or directory.
  const std::string& temp_path() const { return temp_path_; }
  // Renames the temporary into place; with force, an existing destination is replaced.
  void commit();
  bool committed() const { return committed_; }

 private:
  void replace_existing();

  std::string destination_;
  Kind kind_;
  bool force_;
  std::string temp_path_;
  bool committed_ = false;
};

}  // namespace dd
