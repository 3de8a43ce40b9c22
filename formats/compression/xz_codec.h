// xz (LZMA2) for layers and whole-layer payloads, with liblzma directly: no callbacks, and the
// decoder's memory is capped whatever dictionary a stream declares.
#pragma once

#include <memory>
#include <string>

#include "formats/compression/compression.h"

namespace dd {

// xz -9 needs 65 MiB to decompress, the default preset 9 MiB; a stream that declares more (a
// 768 MiB dictionary) is refused before liblzma allocates it.
inline constexpr std::uint64_t kXzDecoderMemoryLimit = 96ull << 20;

std::unique_ptr<Decompressor> make_xz_decompressor(ExpansionLimit limit, std::string what);
// `level` 1-9 (0: xz's default, 6).
std::unique_ptr<Compressor> make_xz_compressor(int level);

}  // namespace dd
