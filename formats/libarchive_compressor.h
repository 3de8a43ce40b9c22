// bzip2 and xz compression through libarchive's raw writer (no tar framing): what delta packages
// offer for whole-layer payloads besides zstd and gzip.
#pragma once

#include <memory>

#include "formats/compression.h"

namespace dd {

// `level` 0 picks the format's default; otherwise 1-9.
std::unique_ptr<Compressor> make_libarchive_compressor(Compression c, int level);

}  // namespace dd
