// The delta package file: a fixed preamble, a JSON header that says everything about the package
// without reading its payloads, an optional signature of that header, then the payloads one after
// another (per image: its config, then each layer that ships bytes, in layer order). Written front
// to back and readable from a pipe. docs/delta-format.md is the specification.
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

// Written: 2 (images, signature). Read: 1 and 2.
inline constexpr std::uint32_t kPackageFormatVersion = 2;
inline constexpr std::uint32_t kOldestPackageFormatVersion = 1;
inline constexpr std::size_t kMaxSignatureBlockBytes = 4096;
// The first bytes of every package.
inline constexpr std::array<unsigned char, 8> kPackageMagic = {0x89, 'D', 'D', 'E', 'L', 'T', 'A', '\n'};

// reused: the receiver has it; packaged: an earlier image of the same package carries it.
enum class Shipping { reused, packaged, full, delta };
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

// One image of the package.
struct PackageImage {
  std::vector<std::string> repo_tags;
  Digest config_digest;            // the image ID
  std::uint64_t config_size = 0;
  std::string platform;
  std::string manifest_media_type; // of the source's manifest, kept for reference
  std::string manifest;            // the source's manifest bytes, when it had one
  std::vector<PackageLayer> layers;

  std::uint64_t payload_bytes() const;  // its config and its layers' payloads
  std::string name() const { return repo_tags.empty() ? config_digest.short_str() : repo_tags.front(); }
};

// The signature block of a version 2 package: an Ed25519 signature of the header's JSON bytes
// (which name every payload's digest) and the public key that made it.
struct PackageSignature {
  std::string algorithm = "ed25519";
  std::string public_key;  // raw key bytes
  std::string signature;   // raw signature bytes
  std::string key_id() const;  // sha256 of the raw public key
};

struct PackageHeader {
  std::uint32_t version = kPackageFormatVersion;
  std::string tool;
  std::string created;             // RFC 3339, UTC
  std::vector<PackageImage> images;           // version 1: exactly one
  std::vector<PackageBaseLayer> base_layers;  // every layer the receiver must already have

  // As read: not part of the JSON.
  std::uint64_t prefix_bytes = 0;  // preamble, header, its digest and the signature block
  std::string json;                // the header's bytes, as signed
  Digest header_digest;            // their SHA-256: the package's identity
  std::optional<PackageSignature> signature;

  std::uint64_t payload_bytes() const;
  nlohmann::ordered_json to_json() const;
};

// Validates everything a reader relies on: digests, sizes, known methods, bases that are listed,
// layer count and payload totals within `limits`. Errc::bad_input naming the field otherwise.
PackageHeader parse_package_header(const nlohmann::json& json, const Limits& limits);

// The header's JSON bytes as a writer emits them (what a signature signs).
std::string package_header_json(const PackageHeader& header);
// The bytes that precede the payloads: preamble, header JSON (`json`, from package_header_json),
// its SHA-256 and the signature block, if any.
std::string package_prefix(const std::string& json, const std::optional<PackageSignature>& signature);

// Reads and checks the preamble, header, header digest and the signature block's form (not
// whether its key is trusted: package_trust.h). Leaves `in` at the first payload.
PackageHeader read_package_header(ByteStream& in, const Limits& limits, const std::string& what);

}  // namespace dd
