// Reads the framing of a VCDIFF payload (RFC 3284 §4) before xdelta3 sees it, and refuses
// anything beyond plain copy/add/run instructions: secondary compression (VCD_DECOMPRESS in the
// header or any window's Delta_Indicator), a custom code table, and xdelta3's application header
// (which names an external program to recompress the output with).
#pragma once

#include <cstdint>
#include <string>

namespace dd {

// `fd` holds the payload from offset 0 to `size`. Errc::bad_input naming the first problem.
void check_plain_vcdiff(int fd, std::uint64_t size, const std::string& what);

}  // namespace dd
