// A package split for a stick (`create --split SIZE`): PACKAGE.001, PACKAGE.002, ... each a part
// header (below) and a run of the package's bytes; laid end to end, the runs are the package.
//
//   0   8  magic "\x89DDPART\n"        24   8  bytes of package data in this part
//   8   4  part format version (1)     32  32  the package's identity: SHA-256 of its header
//  12   4  index, from 1               64  32  SHA-256 of this part's data
//  16   4  part count                  96  32  SHA-256 of bytes 0..95 of this part header
//  20   4  zero
// (big-endian). Opening a package checks every part before anything reads it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"
#include "core/digest.h"

namespace dd {

inline constexpr std::size_t kPartHeaderBytes = 128;
inline constexpr std::uint64_t kMinPartSize = 4096;
inline constexpr std::uint32_t kMaxParts = 99999;
inline constexpr std::array<unsigned char, 8> kPartMagic = {0x89, 'D', 'D', 'P', 'A', 'R', 'T', '\n'};

// "4G", "700M", "4095MiB", "1500000", "4GB": K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024,
// KB/MB/GB/TB of 1000 (as split(1) reads them). Errc::usage otherwise or below kMinPartSize.
std::uint64_t parse_part_size(std::string_view text);

// PACKAGE.001 for part 1.
std::string part_path(const std::string& package, std::uint32_t index);

struct PartHeader {
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  std::uint64_t data_bytes = 0;
  Digest identity;
  std::string data_sha256;  // raw 32 bytes
};
std::string encode_part_header(const PartHeader& header);

// A package's bytes, front to back.
class PackageStream : public ByteStream {
 public:
  // Moves `n` bytes ahead without reading them where the file allows (a pipe: reads them).
  // Errc::bad_input when the package ends first.
  virtual void skip(std::uint64_t n) = 0;
};
// A package in a file or on a pipe.
std::unique_ptr<PackageStream> plain_package_stream(UniqueFd fd, std::string what);

// An opened package, ready to be read front to back.
struct OpenedPackage {
  std::unique_ptr<PackageStream> stream;
  std::string what;                     // "package PATH", for messages
  std::vector<std::string> part_paths;  // empty unless split
  Digest identity;                      // split: what every part says the package's header hashes to
};

// `path` is "-" (standard input), a package file, PACKAGE of a split package, or any of its
// parts. A split package's parts are all found and checked first (present, in order, of this
// package, none extra, each whole and matching its SHA-256), each failure one line naming the part.
OpenedPackage open_package(const std::string& path);
// The parts at exactly these paths (a package just written, before it is renamed into place).
OpenedPackage open_package_parts(const std::vector<std::string>& paths, const std::string& name);
// A split package's header must be the one its parts name.
void check_package_identity(const OpenedPackage& package, const Digest& header_digest);

// Whether PACKAGE.001 or any later consecutive part exists.
std::vector<std::string> existing_parts(const std::string& package);

}  // namespace dd
