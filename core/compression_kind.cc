#include "core/compression_kind.h"

#include "core/error.h"

namespace dd {

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    case Compression::bzip2: return "bzip2";
    case Compression::xz: return "xz";
  }
  return "?";
}

Compression parse_compression(std::string_view name) {
  if (name == "none") return Compression::none;
  if (name == "gzip") return Compression::gzip;
  if (name == "zstd") return Compression::zstd;
  fail(Errc::usage, "unknown compression '{}' (none, gzip, zstd)", name);
}

Compression detect_compression(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::gzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::zstd;
  if (starts("BZh")) return Compression::bzip2;
  if (starts("\xfd" "7zXZ\x00")) return Compression::xz;
  return Compression::none;
}

}  // namespace dd
