// The delta methods that run standard programs, so a package's payloads can be made and read
// with the same tools by hand: xdelta3 (VCDIFF) and bsdiff. Each takes one base layer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "delta/zstd/tar_delta.h"

namespace dd {

// Writes the VCDIFF of `layer` against `base` to `payload_fd` (at its current end).
void xdelta3_encode(const DeltaLayerFile& base, const DeltaLayerFile& layer, int payload_fd);
// Rebuilds a layer of `declared_size` bytes into `out`; more output than declared stops the program.
void xdelta3_decode(int payload_fd, const DeltaLayerFile& base, std::uint64_t declared_size,
                    const std::function<void(const char*, std::size_t)>& out, const std::string& what);

void bsdiff_encode(const DeltaLayerFile& base, const DeltaLayerFile& layer, int payload_fd);
// The patch's own header states the new size; it must equal `declared_size` before bspatch runs.
void bsdiff_decode(int payload_fd, const DeltaLayerFile& base, std::uint64_t declared_size,
                   const std::function<void(const char*, std::size_t)>& out, const std::string& what);

}  // namespace dd
