#include "core/printable.h"

#include <fmt/format.h>

namespace dd {
namespace {

// Length of the well-formed UTF-8 sequence at the front of `s` (RFC 3629: no overlongs, no
// surrogates, nothing past U+10FFFF), or 0 when the first byte does not start one.
std::size_t utf8_sequence_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if (c >= 0xe1 && c <= 0xec) n = 3;
  else if (c == 0xed) n = 3, hi = 0x9f;
  else if (c >= 0xee && c <= 0xef) n = 3;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else if (c == 0xf4) n = 4, hi = 0x8f;
  else return 0;
  if (s.size() < n) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xbf) return 0;
  return n;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text[0]);
    if (c == '\\') {
      out += "\\\\";
      text.remove_prefix(1);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      text.remove_prefix(1);
    } else if (c < 0x80) {
      out += fmt::format("\\x{:02x}", c);
      text.remove_prefix(1);
    } else if (const std::size_t n = utf8_sequence_length(text); n > 0) {
      // C1 controls (U+0080..U+009F) are two bytes, 0xc2 0x80..0x9f.
      if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[1]) < 0xa0) {
        out += fmt::format("\\x{:02x}\\x{:02x}", c, static_cast<unsigned char>(text[1]));
      } else {
        out.append(text.substr(0, n));
      }
      text.remove_prefix(n);
    } else {
      out += fmt::format("\\x{:02x}", c);
      text.remove_prefix(1);
    }
  }
  return out;
}

}  // namespace dd
