// Where `create` writes a package: one file PACKAGE, or (split) PACKAGE.001, PACKAGE.002, ...
// each at most the split size (delta/package_parts.h). Everything goes to temporaries first; the
// package is read back from them, then renamed into place, with stale parts of an earlier
// package of that name removed (with force).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/digest.h"
#include "delta/package_parts.h"
#include "stores/atomic_destination.h"

namespace dd {

class PackageFileWriter {
 public:
  // Errc::exists when PACKAGE or PACKAGE.001 exists and !force. `split_size` 0: one file.
  PackageFileWriter(std::string package, std::uint64_t split_size, bool force);
  ~PackageFileWriter();

  // Creates the temporaries for `total` bytes of a package whose header hashes to `identity`.
  void begin(std::uint64_t total, const Digest& identity);
  void write(const char* data, std::size_t size);
  // Completes the part headers and syncs everything. All `total` bytes must have been written.
  void finish();
  // The temporaries, opened as `apply` opens a package.
  OpenedPackage reopen() const;
  void commit();
  // What commit() made.
  std::vector<std::string> paths() const;

 private:
  void end_part();

  std::string package_;
  std::uint64_t split_size_;
  bool force_;
  Digest identity_;
  std::uint64_t total_ = 0, written_ = 0;
  std::vector<std::unique_ptr<AtomicDestination>> files_;
  std::vector<std::string> final_paths_;
  // The part being written: its descriptor, data bytes so far, and their hash.
  std::size_t part_ = 0;
  std::uint64_t part_bytes_ = 0, part_capacity_ = 0;
  std::unique_ptr<Hasher> part_hash_;
  std::vector<std::uint64_t> part_sizes_;
};

}  // namespace dd
