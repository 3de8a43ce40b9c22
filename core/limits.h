// Safety limits for untrusted input. Real images stay far below them; hostile ones hit them
// early and end in Errc::limit instead of exhausting memory or disk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/expansion_limit.h"

namespace dd {

struct Limits {
  std::size_t max_json_bytes = 8u << 20;   // manifests, indexes and configs are kilobytes
  int max_json_depth = 64;                 // real documents nest fewer than ten levels
  std::size_t max_index_entries = 4096;    // manifests in one index, nested ones included
  std::uint64_t max_metadata_bytes = 64u << 20;  // all index and manifest JSON read for one image
  std::size_t max_layers = 1024;           // docker itself stops at 127
  std::size_t max_archive_members = 100000;
  int max_symlink_hops = 16;
  std::size_t max_member_name = 4096;      // PATH_MAX: longer tar names and link targets are hostile
  std::uint64_t max_name_bytes = 64u << 20; // all member names and link targets one index holds:
                                            // 100000 real paths are a few MiB
  ExpansionLimit expansion;                // for every compressed stream we read
};

}  // namespace dd
