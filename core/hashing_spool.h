// Bytes written to an unlinked temporary file while they are hashed: for blobs whose digest is
// known only once all of them exist (a rewritten layer, a layer in a daemon's save stream).
// The file has no name, so it disappears however the run ends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/byte_stream.h"
#include "core/digest.h"

namespace dd {

class HashingSpool {
 public:
  // In `temp_dir` (empty: $TMPDIR, then /tmp).
  explicit HashingSpool(const std::string& temp_dir);
  void write(const char* data, std::size_t size);
  struct Result {
    std::shared_ptr<UniqueFd> file;
    std::uint64_t size = 0;
    Digest digest;  // sha256 of every byte written
  };
  // Ends writing; the spool may not be written afterwards.
  Result finish();

 private:
  std::shared_ptr<UniqueFd> file_;
  Hasher hasher_;
};

}  // namespace dd
