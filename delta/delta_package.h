// The delta package file: a fixed preamble, a JSON header that says everything about the package
// without reading its payloads, then the payloads one after another (the config first, then each
// layer that ships bytes, in layer order). Written front to back and readable from a pipe.
// docs/delta-format.md is the specification.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "core/limits.h"
#include "formats/compression/compression.h"

namespace dd {

inline constexpr std::uint32_t kPackageFormatVersion = 1;
inline constexpr std::size_t kPackagePreambleBytes = 16;  // magic, version, header length
// The first bytes of every package.
inline constexpr std::array<unsigned char, 8> kPackageMagic = {0x89, 'D', 'D', 'E', 'L', 'T', 'A', '\n'};

enum class Shipping { reused, full, delta };
std::string_view to_string(Shipping s);

struct PackageLayer {
  Digest diff_id;
  std::optional<std::uint64_t> size;  // of the uncompressed layer tar; may be unknown when reused
  Shipping shipping = Shipping::full;
  std::string method;           // delta: "zstd", "xdelta3" or "bsdiff"; full: "layer"
  Compression compression = Compression::none;  // of a full payload
  std::vector<Digest> bases;    // delta: the base layers the payload reads, in its numbering
  std::uint64_t payload_size = 0;               // 0 and no digest when reused
  std::optional<Digest> payload_digest;
  std::optional<std::uint64_t> source_size;     // how big the source stored it (for savings)
};

struct PackageBaseLayer {
  Digest diff_id;
  std::string image;  // a name of the base image it came from, for messages
};

struct PackageHeader {
  std::uint32_t version = kPackageFormatVersion;
  std::string tool;
  std::string created;             // RFC 3339, UTC
  std::vector<std::string> repo_tags;
  Digest config_digest;            // the image ID
  std::uint64_t config_size = 0;
  std::string platform;
  std::string manifest_media_type; // of the source's manifest, kept for reference
  std::string manifest;            // the source's manifest bytes, when it had one
  std::vector<PackageLayer> layers;
  std::vector<PackageBaseLayer> base_layers;  // every layer the receiver must already have

  std::uint64_t prefix_bytes = 0;  // preamble, header and its digest, as read

  std::uint64_t payload_bytes() const;
  nlohmann::ordered_json to_json() const;
};

// Validates everything a reader relies on: digests, sizes, known methods, bases that are listed,
// layer count and payload totals within `limits`. Errc::bad_input naming the field otherwise.
PackageHeader parse_package_header(const nlohmann::json& json, const Limits& limits);

// The bytes that precede the payloads: preamble, header JSON and its SHA-256.
std::string package_prefix(const PackageHeader& header);

// Reads and checks the preamble, header and header digest. Leaves `in` at the first payload.
PackageHeader read_package_header(ByteStream& in, const Limits& limits, const std::string& what);

}  // namespace dd
