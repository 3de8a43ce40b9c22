// The byte layout of a "zstd" delta payload (docs/delta-format.md), shared by the planner, the
// encoder and the decoder: records, reference pieces, operations, and the zstd contexts.
#pragma once

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/byte_stream.h"
#include "core/error.h"
#include "delta/zstd/tar_delta.h"
#include "formats/compression/gzip_reproduction.h"

namespace dd::tar_delta {

inline constexpr char kMagic[4] = {'D', 'D', 'Z', 'T'};
// Version 1: segment tables as plain bytes, no patch operations. Version 2: each segment's table
// is itself a zstd frame, and operations may be suffix-matcher patches. Both are read.
inline constexpr std::uint8_t kVersion1 = 1;
inline constexpr std::uint8_t kVersion2 = 2;
// A decompressed segment table (version 2): 21 bytes per piece and at most 57 per operation.
inline constexpr std::uint64_t kMaxSegmentTable = 64u << 20;
inline constexpr std::uint32_t kMaxPieces = 1u << 20;
enum class PieceKind : std::uint8_t { raw = 0, gunzip = 1 };

// Reference bytes: a range of a base layer, taken as is or decompressed (an old .gz file whose
// new version travels decompressed).
struct Piece {
  PieceKind kind = PieceKind::raw;
  std::uint32_t base = 0;  // index into the encoder's bases until renumbered for the payload
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

enum class OpKind : std::uint8_t { copy = 1, gzip = 2, patch = 3 };

// A stretch of output that is not in the zstd frame as is: copied from a base, recompressed
// from decompressed content that the frame holds instead, or rebuilt by a suffix-matcher patch
// (delta/suffix/suffix_delta.h) whose streams the frame holds, against a stretch of a base.
struct Op {
  OpKind kind = OpKind::copy;
  std::uint64_t at = 0;      // output offset (absolute in the layer while encoding)
  std::uint64_t length = 0;  // output bytes
  std::uint32_t base = 0;    // copy, patch
  std::uint64_t offset = 0;  // copy, patch
  GzipRecipe recipe{};       // gzip
  std::string raw;           // gzip: the decompressed content; patch: its streams (encoder only)
  std::uint64_t source_length = 0;             // patch: base bytes at `offset` it reads
  std::uint64_t controls = 0, diff = 0, extra = 0;  // patch: its streams' lengths, in that order
};

struct Segment {
  std::uint64_t begin = 0, end = 0;  // new bytes
  std::vector<Piece> pieces;         // the reference, in order
  std::vector<Op> ops;               // in output order
  std::uint64_t residual = 0;        // bytes the frame holds
  std::size_t gzip_ops = 0, gnu_gzip_ops = 0;
};

// The gzip program runs a decoder makes for a segment: its gzip files are split in two halves
// (two threads), each recompressed in batches.
inline std::size_t gzip_runs_for_segment(std::size_t gnu_gzip_ops) {
  return gzip_program_runs(GzipRecipe::gnu_gzip_9, (gnu_gzip_ops + 1) / 2) +
         gzip_program_runs(GzipRecipe::gnu_gzip_9, gnu_gzip_ops / 2);
}

// Raw pieces of one base this close are joined, the gap taken along: one piece record costs 21
// bytes, a tar's padding between two files at most 511.
inline constexpr std::uint64_t kPieceJoinGap = 1024;

inline void add_piece(Segment& s, Piece p) {
  if (p.length == 0) return;
  if (!s.pieces.empty()) {
    Piece& last = s.pieces.back();
    const std::uint64_t last_end = last.offset + last.length;
    if (p.kind == PieceKind::raw && last.kind == PieceKind::raw && last.base == p.base && p.offset >= last_end &&
        p.offset - last_end <= kPieceJoinGap) {
      last.length = p.offset + p.length - last.offset;
      return;
    }
  }
  s.pieces.push_back(p);
}

inline unsigned window_log_for(std::uint64_t bytes) {
  const unsigned log = bytes <= 1024 ? 10u : static_cast<unsigned>(std::bit_width(bytes - 1));
  // Segments bound reference + content to 256 MiB, so this stays at 28 at most.
  return std::clamp<unsigned>(log, 10, 31);
}

// Makes `buffer` hold at least `size` bytes. A buffer kept from one segment to the next is only
// grown: no zero-filling of memory that is about to be overwritten, and no fresh pages to fault in.
inline void grow_to(std::string& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

// Lays the reference pieces out one after another at the start of `buffer` (grown as needed) and
// returns their length; a gunzip piece adds the decompressed bytes.
template <typename Base>
std::size_t build_reference(const std::vector<Piece>& pieces, const Base& bases, std::string& buffer, const std::string& what) {
  std::size_t length = 0;
  std::string compressed;
  for (const Piece& p : pieces) {
    const DeltaLayerFile& file = [&]() -> const DeltaLayerFile& {
      if constexpr (std::is_pointer_v<typename Base::value_type>) return *bases[p.base];
      else return bases[p.base];
    }();
    if (p.kind == PieceKind::raw) {
      if (p.length > kMaxSegmentReference - length)
        fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what, kMaxSegmentReference);
      grow_to(buffer, length + p.length);
      file.read(p.offset, p.length, buffer.data() + length, what);
      length += p.length;
    } else {
      compressed.resize(p.length);
      file.read(p.offset, p.length, compressed.data(), what);
      const auto raw = gunzip_exactly(compressed, kMaxSegmentReference - length);
      if (!raw) fail(Errc::bad_input, "{}: a delta reference is not a gzip file it can decompress", what);
      grow_to(buffer, length + raw->size());
      std::memcpy(buffer.data() + length, raw->data(), raw->size());
      length += raw->size();
    }
  }
  return length;
}

inline void put_u8(std::string& s, std::uint8_t v) { s.push_back(static_cast<char>(v)); }
inline void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct ZstdCCtx {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ~ZstdCCtx() { ZSTD_freeCCtx(c); }
};
struct ZstdDCtx {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdDCtx() { ZSTD_freeDCtx(d); }
};

inline void check_zstd(std::size_t rc, const char* what) {
  if (ZSTD_isError(rc)) fail(Errc::internal, "zstd {}: {}", what, ZSTD_getErrorName(rc));
}

struct PayloadReader {
  ByteStream& in;
  const std::string& what;
  void exact(char* p, std::size_t n) { read_exact(in, p, n, what + ": the delta payload"); }
  std::uint8_t u8() {
    char c;
    exact(&c, 1);
    return static_cast<std::uint8_t>(c);
  }
  std::uint64_t uint(int bytes) {
    unsigned char b[8];
    exact(reinterpret_cast<char*>(b), static_cast<std::size_t>(bytes));
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
};


}  // namespace dd::tar_delta
