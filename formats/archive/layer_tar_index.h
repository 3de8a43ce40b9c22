// The members of an uncompressed layer tar held in a file: where each member's header and data
// lie, so a delta encoder can line up the files of two layers and read them in place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "core/limits.h"

namespace dd {

struct LayerMember {
  std::string path;                // as written, with a leading "./" removed
  std::uint64_t header_offset = 0; // first byte of the member's headers (pax headers included)
  std::uint64_t data_offset = 0;   // first byte of its data
  std::uint64_t size = 0;          // data bytes (0 for anything but regular files)
  std::uint64_t end_offset = 0;    // one past its last byte (data and padding): the next member's header_offset
  bool regular = false;            // a regular file with data (not a hard link)
  std::string link_target;         // a hard link's target, as written
  std::string_view basename() const {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string_view(path) : std::string_view(path).substr(slash + 1);
  }
};

struct LayerTarIndex {
  std::vector<LayerMember> members;  // in archive order
  std::uint64_t size = 0;            // of the whole tar
};

// Reads the headers of the tar in `file` (`size` bytes from `offset`). A damaged tar is Errc::bad_input
// naming `what`; more members than the limits allow is Errc::limit.
LayerTarIndex index_layer_tar(const UniqueFd& file, std::uint64_t offset, std::uint64_t size, const Limits& limits,
                              const std::string& what);

}  // namespace dd
