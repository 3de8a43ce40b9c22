// Applies a BSDIFF40 patch (what `bsdiff OLD NEW PATCH` writes) in this process, streaming: the
// control, diff and extra streams are bzip2-decompressed a block at a time, the old file is read
// in place and the new file goes to the sink in blocks, so memory stays about 1 MiB whatever the
// sizes. Every control is checked before it is used: no read outside the old file or the patch,
// no output past the declared size, no seek that overflows.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace dd {

// Reads `length` bytes of the old file at `offset` into `out` (the caller's bounds are checked).
using OldFileReader = std::function<void(std::uint64_t offset, std::uint64_t length, char* out)>;

// `patch_fd` holds the patch from offset 0 to `patch_size`. The patch's header must declare
// exactly `declared_size` new bytes; Errc::bad_input names the first thing wrong with the patch.
void bspatch_stream(int patch_fd, std::uint64_t patch_size, std::uint64_t old_size, const OldFileReader& read_old,
                    std::uint64_t declared_size, const std::function<void(const char*, std::size_t)>& out,
                    const std::string& what);

}  // namespace dd
