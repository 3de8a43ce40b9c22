// bzip2 for layers and whole-layer payloads, with libbz2 directly: no callbacks, and bounded
// memory (bzip2 blocks are at most 900 kB; the decoder needs under 4 MiB whatever the stream).
#pragma once

#include <memory>
#include <string>

#include "formats/compression/compression.h"

namespace dd {

std::unique_ptr<Decompressor> make_bzip2_decompressor(ExpansionLimit limit, std::string what);
// `level` 1-9 (0: bzip2's default, 9).
std::unique_ptr<Compressor> make_bzip2_compressor(int level);

}  // namespace dd
