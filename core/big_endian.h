// Fixed-width unsigned integers, most significant byte first, as the package's binary preambles
// and part headers store them.
#pragma once

#include <cstdint>
#include <string>

namespace dd {

inline void append_be(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline std::uint64_t read_be(const unsigned char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

}  // namespace dd
