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

std::optional<Compression> compression_named(std::string_view name) {
  for (Compression c : {Compression::none, Compression::gzip, Compression::zstd, Compression::bzip2, Compression::xz})
    if (to_string(c) == name) return c;
  return std::nullopt;
}

Compression parse_compression(std::string_view name) {
  const auto c = compression_named(name);
  if (c && (*c == Compression::none || *c == Compression::gzip || *c == Compression::zstd)) return *c;
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
