// The compressions a blob may have, by name and by magic number. Only the names: the codecs
// themselves are in formats/compression/.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace dd {

enum class Compression { none, gzip, zstd, bzip2, xz };

std::string_view to_string(Compression c);
// The compression of that name ("none", "gzip", "zstd", "bzip2", "xz"), or nothing.
std::optional<Compression> compression_named(std::string_view name);
// "none", "gzip", "zstd" (what docker_delta writes layers with); anything else is Errc::usage.
Compression parse_compression(std::string_view name);
// Reads the magic number at the start of a blob. Unknown magic means uncompressed.
Compression detect_compression(std::string_view first_bytes);
inline constexpr std::size_t kMagicBytes = 6;

}  // namespace dd
