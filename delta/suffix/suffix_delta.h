// The suffix-array matcher: bsdiff's approximate matching, written here. The old bytes are
// sorted into a suffix array (libdivsufsort); the new bytes are scanned for long exact matches,
// which are then extended forwards and backwards while at least half the bytes still agree. What
// comes out is three streams:
//   controls  (add, copy, seek) triples, LEB128 varints, seek zig-zag signed;
//   diff      new - old, byte by byte, for each `add` stretch (mostly zeros: shifted addresses
//             and changed version strings become a few non-zero bytes);
//   extra     new bytes with no counterpart, for each `copy` stretch.
// The streams are not compressed here: the caller puts them in a zstd frame.
//
// Memory is bounded by the window: at most kMaxSuffixSource old bytes per suffix array (4 bytes
// per old byte, so 64 MiB) and kMaxSuffixTarget new bytes; larger files are cut into windows by
// the caller. Time is bounded too: a search that exceeds its work budget gives up (nullopt), and
// the caller uses another codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dd::suffix {

inline constexpr std::uint64_t kMaxSuffixSource = 16u << 20;
inline constexpr std::uint64_t kMaxSuffixTarget = 16u << 20;

struct Patch {
  std::string controls, diff, extra;
  std::uint64_t size() const { return controls.size() + diff.size() + extra.size(); }
};

// `source` ≤ kMaxSuffixSource, `target` ≤ kMaxSuffixTarget (else Errc::internal).
std::optional<Patch> encode(std::string_view source, std::string_view target);

// Frees the suffix array encode() keeps on this thread for the next call (up to 64 MiB), for a
// thread that goes on to other memory-hungry work.
void release_thread_buffers();

// Rebuilds `target_size` bytes into `out` from `source` and the three streams. Every control is
// checked before it is used (no read outside `source` or the streams, no write past
// `target_size`, no overflow), and every stream must be used up exactly; Errc::bad_input names
// the first thing wrong.
void apply(std::string_view controls, std::string_view diff, std::string_view extra, std::string_view source,
           std::uint64_t target_size, char* out, const std::string& what);

}  // namespace dd::suffix
