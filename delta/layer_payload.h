// Payload files for delta packages: a whole layer compressed as the package asks, or bytes some
// encoder wrote, hashed into a LayerPayload.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "formats/compression/compression.h"
#include "pipeline/element.h"
#include "pipeline/registry.h"
#include "pipeline/run_context.h"

namespace dd {

// A layer already encoded for a delta package by the delta filter: a payload in a temporary
// file, attached to the layer element (ElementData::attach). The layer's body is still passed
// along for stages that want the plain bytes.
struct LayerPayload {
  bool is_delta = true;          // false: the whole layer, compressed
  std::string method;            // "zstd", "xdelta3", "bsdiff"; "layer" when whole
  Compression compression = Compression::none;  // of a whole-layer payload
  std::vector<Digest> bases;     // base layers a delta reads
  std::shared_ptr<UniqueFd> file;
  std::uint64_t size = 0;
  Digest digest;
};

// How a delta package compresses whole-layer payloads (create's -c/--compression, -l/--level).
// The delta filter and the delta output take them as the options "compression" and
// "compression-level" of their specs.
struct PayloadSettings {
  Compression compression = Compression::zstd;
  int level = 0;  // 0: the format's default; zstd takes negative (fast) levels too
};
// Reads those two options (absent: the defaults above); Errc::usage for a bad value.
PayloadSettings payload_settings(const StageSpec& spec);

// A compressor for any payload compression; `level` as in PayloadSettings.
std::unique_ptr<Compressor> make_payload_compressor(Compression c, int level);

// Compresses `uncompressed` into a temporary file. When the output grows past `give_up_above`
// it stops early and returns nothing: a smaller delta already exists.
std::optional<LayerPayload> compress_whole_layer(ByteStream& uncompressed, const PayloadSettings& settings,
                                                 const RunContext& ctx,
                                                 std::optional<std::uint64_t> give_up_above = std::nullopt);

// Runs `write` on a new temporary file (appending at its offset), then hashes what it wrote.
LayerPayload make_payload(const RunContext& ctx, const std::function<void(int fd)>& write);

}  // namespace dd
