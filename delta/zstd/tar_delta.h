// The "zstd" delta method: a new layer tar encoded against the layers the receiver already has,
// tar-aware. Each file of the new layer is matched with an old file (same content anywhere in the
// base layers, else the same path, else the same name). The new tar is cut into segments of a
// few tens of MiB; in each, unchanged file data is copied from the base by reference, a changed
// gzip file that can be recompressed exactly travels as its decompressed content, and all the
// rest (headers, changed files) is one zstd frame whose reference prefix is the matching old
// headers and files, in the new order; a changed file may instead travel as a suffix-matcher
// patch against its old version (delta/suffix/), where that is smaller. Memory is bounded by the segment size, whatever the
// layer size. docs/delta-format.md gives the byte layout.
//
// The parts: catalogue.h matches files, planner.h cuts segments, wire.h is the byte layout,
// encoder.cc writes payloads and decoder.cc reads them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "delta/delta_layer_file.h"
#include "delta/delta_method.h"
#include "formats/archive/layer_tar_index.h"
#include "formats/compression/compression.h"

namespace dd {

class BaseCatalogue;

// Limits every decoder enforces, whatever a payload claims.
inline constexpr std::uint64_t kMaxSegmentOutput = 64u << 20;
inline constexpr std::uint64_t kMaxSegmentReference = 192u << 20;


struct TarDeltaStats {
  std::uint64_t exact_bytes = 0;     // new file bytes found unchanged in a base layer
  std::uint64_t path_bytes = 0;      // changed files matched by path
  std::uint64_t name_bytes = 0;      // matched by file name elsewhere
  std::uint64_t unmatched_bytes = 0;
  std::uint64_t gzip_bytes = 0;      // changed .gz files that travel decompressed
  std::uint64_t patch_bytes = 0;     // changed file bytes that travel as suffix-matcher patches
};

// Where a changed file may travel as a suffix-matcher patch instead of in the zstd frame against
// its old version: never, where a trial compression says it is smaller, or wherever it can.
enum class SuffixUse : std::uint8_t { never, when_smaller, always };

class TarDeltaEncoder {
 public:
  // `bases` are every layer the receiver has, bottom layer first (a later layer's path wins).
  TarDeltaEncoder(std::vector<DeltaLayerFile> bases, const Limits& limits, SuffixUse suffix = SuffixUse::when_smaller);
  ~TarDeltaEncoder();

  struct Result {
    std::vector<Digest> bases;  // the base layers the payload reads, in the payload's numbering
    TarDeltaStats stats;
  };
  // Writes the payload for `layer` to `out`.
  Result encode(const DeltaLayerFile& layer, const DeltaSettings& settings,
                const std::function<void(const char*, std::size_t)>& out);

  // The base layer sharing the most file bytes with `layer` (by path), for methods that take one.
  std::size_t most_similar_base(const DeltaLayerFile& layer) const;
  const std::vector<DeltaLayerFile>& bases() const { return bases_; }

 private:
  std::vector<DeltaLayerFile> bases_;
  Limits limits_;
  SuffixUse suffix_;
  std::unique_ptr<BaseCatalogue> catalogue_;  // points into bases_
};

// Rebuilds the layer from a payload. `bases` are the layers the payload names, in its numbering.
// Checks every bound before allocating: pieces inside their base, segment sizes, the total
// against `declared_size`. The caller verifies the diff_id of what comes out.
void decode_tar_delta(ByteStream& payload, const std::vector<DeltaLayerFile>& bases, std::uint64_t declared_size,
                      const std::function<void(const char*, std::size_t)>& out, const std::string& what);

}  // namespace dd
