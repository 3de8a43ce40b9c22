#include "delta/tar_delta.h"

#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <future>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "core/interruption.h"
#include "formats/compression/gzip_reproduction.h"

namespace dd {
namespace {

constexpr char kMagic[4] = {'D', 'D', 'Z', 'T'};
constexpr std::uint8_t kVersion = 1;
constexpr std::uint32_t kMaxPieces = 1u << 20;
// A huge file is cut into chunks; each chunk's reference is the same stretch of the old file
// widened by this much on each side, so insertions and deletions still find their match.
constexpr std::uint64_t kChunkMargin = 4u << 20;
// Unchanged data shorter than this stays in the frame: a copy operation costs ~30 bytes.
constexpr std::uint64_t kMinCopy = 64;

Digest hash_range(const DeltaLayerFile& f, std::uint64_t offset, std::uint64_t length, const std::string& what) {
  Hasher h;
  std::vector<char> buffer(std::min<std::uint64_t>(length, kBlockSize));
  while (length > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(length, buffer.size());
    f.read(offset, n, buffer.data(), what);
    h.update(buffer.data(), n);
    offset += n;
    length -= n;
  }
  return h.finish();
}

enum class PieceKind : std::uint8_t { raw = 0, gunzip = 1 };

// Reference bytes: a range of a base layer, taken as is or decompressed (an old .gz file whose
// new version travels decompressed).
struct Piece {
  PieceKind kind = PieceKind::raw;
  std::uint32_t base = 0;  // index into the encoder's bases until renumbered for the payload
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

enum class OpKind : std::uint8_t { copy = 1, gzip = 2 };

// A stretch of output that is not in the zstd frame as is: copied from a base, or recompressed
// from decompressed content that the frame holds instead.
struct Op {
  OpKind kind = OpKind::copy;
  std::uint64_t at = 0;      // output offset (absolute in the layer while encoding)
  std::uint64_t length = 0;  // output bytes
  std::uint32_t base = 0;    // copy
  std::uint64_t offset = 0;  // copy
  GzipRecipe recipe{};       // gzip
  std::string raw;           // gzip: the decompressed content (encoder only)
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
std::size_t gzip_runs_for_segment(std::size_t gnu_gzip_ops) {
  return gzip_program_runs(GzipRecipe::gnu_gzip_9, (gnu_gzip_ops + 1) / 2) +
         gzip_program_runs(GzipRecipe::gnu_gzip_9, gnu_gzip_ops / 2);
}

void add_piece(Segment& s, Piece p) {
  if (p.length == 0) return;
  if (!s.pieces.empty()) {
    Piece& last = s.pieces.back();
    if (p.kind == PieceKind::raw && last.kind == PieceKind::raw && last.base == p.base && last.offset + last.length == p.offset) {
      last.length += p.length;
      return;
    }
  }
  s.pieces.push_back(p);
}

unsigned window_log_for(std::uint64_t bytes) {
  const unsigned log = bytes <= 1024 ? 10u : static_cast<unsigned>(std::bit_width(bytes - 1));
  // Segments bound reference + content to 256 MiB, so this stays at 28 at most.
  return std::clamp<unsigned>(log, 10, 31);
}

std::optional<Op> try_gzip(const DeltaLayerFile& layer, const LayerMember& m, const DeltaLayerFile& base,
                           const LayerMember& o, const std::string& what);

// Lays the reference pieces out one after another; a gunzip piece adds the decompressed bytes.
template <typename Base>
void build_reference(const std::vector<Piece>& pieces, const Base& bases, std::string& reference, const std::string& what) {
  reference.clear();
  std::string compressed;
  for (const Piece& p : pieces) {
    const DeltaLayerFile& file = [&]() -> const DeltaLayerFile& {
      if constexpr (std::is_pointer_v<typename Base::value_type>) return *bases[p.base];
      else return bases[p.base];
    }();
    if (p.kind == PieceKind::raw) {
      const std::size_t at = reference.size();
      reference.resize(at + p.length);
      file.read(p.offset, p.length, reference.data() + at, what);
    } else {
      compressed.resize(p.length);
      file.read(p.offset, p.length, compressed.data(), what);
      const auto raw = gunzip_exactly(compressed, kMaxSegmentReference - reference.size());
      if (!raw) fail(Errc::bad_input, "{}: a delta reference is not a gzip file it can decompress", what);
      reference += *raw;
    }
    if (reference.size() > kMaxSegmentReference)
      fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what, kMaxSegmentReference);
  }
}

void put_u8(std::string& s, std::uint8_t v) { s.push_back(static_cast<char>(v)); }
void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& s, std::uint64_t v) {
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

void check_zstd(std::size_t rc, const char* what) {
  if (ZSTD_isError(rc)) fail(Errc::internal, "zstd {}: {}", what, ZSTD_getErrorName(rc));
}

}  // namespace


// Where every file of the base layers is, by size, path and name; content hashes on demand.
struct TarDeltaEncoder::Catalogue {
  struct Ref {
    std::uint32_t base;
    std::uint32_t member;
  };
  std::unordered_map<std::uint64_t, std::vector<Ref>> by_size;
  std::unordered_map<std::string_view, Ref> by_path;               // the topmost layer wins
  std::unordered_map<std::string_view, std::vector<Ref>> by_name;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Digest> hashes;
};

TarDeltaEncoder::TarDeltaEncoder(std::vector<DeltaLayerFile> bases, const Limits& limits)
    : bases_(std::move(bases)), limits_(limits), catalogue_(std::make_unique<Catalogue>()) {
  for (std::uint32_t b = 0; b < bases_.size(); ++b) {
    const auto& members = bases_[b].index->members;
    for (std::uint32_t m = 0; m < members.size(); ++m) {
      const LayerMember& lm = members[m];
      if (!lm.regular || lm.size == 0) continue;
      catalogue_->by_size[lm.size].push_back({b, m});
      catalogue_->by_path[lm.path] = {b, m};
      catalogue_->by_name[lm.basename()].push_back({b, m});
    }
  }
}

TarDeltaEncoder::~TarDeltaEncoder() = default;

std::size_t TarDeltaEncoder::most_similar_base(const DeltaLayerFile& layer) const {
  std::vector<std::uint64_t> shared(bases_.size(), 0);
  for (const LayerMember& m : layer.index->members) {
    if (!m.regular) continue;
    if (auto it = catalogue_->by_path.find(m.path); it != catalogue_->by_path.end()) shared[it->second.base] += m.size + 512;
  }
  return static_cast<std::size_t>(std::max_element(shared.begin(), shared.end()) - shared.begin());
}

TarDeltaEncoder::Result TarDeltaEncoder::encode(const DeltaLayerFile& layer, const TarDeltaSettings& settings,
                                                const std::function<void(const char*, std::size_t)>& out) {
  const std::string what = "layer " + layer.diff_id.short_str();
  Catalogue& cat = *catalogue_;
  auto base_hash = [&](Catalogue::Ref r) -> const Digest& {
    auto key = std::make_pair(r.base, r.member);
    auto it = cat.hashes.find(key);
    if (it == cat.hashes.end()) {
      const LayerMember& m = bases_[r.base].index->members[r.member];
      it = cat.hashes.emplace(key, hash_range(bases_[r.base], m.data_offset, m.size, "base layer")).first;
    }
    return it->second;
  };

  // 1. Match each new file with an old one.
  const auto& members = layer.index->members;
  std::vector<std::optional<Catalogue::Ref>> match(members.size());
  std::vector<bool> exact_match(members.size(), false);
  TarDeltaStats stats;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const LayerMember& m = members[i];
    if (!m.regular || m.size == 0) continue;
    std::optional<Digest> own;
    auto same_content = [&](Catalogue::Ref r) {
      if (!own) own = hash_range(layer, m.data_offset, m.size, what);
      return base_hash(r) == *own;
    };
    auto path_it = cat.by_path.find(m.path);
    if (path_it != cat.by_path.end()) {
      const LayerMember& old = bases_[path_it->second.base].index->members[path_it->second.member];
      if (old.size == m.size && same_content(path_it->second)) {
        match[i] = path_it->second;
        exact_match[i] = true;
        stats.exact_bytes += m.size;
        continue;
      }
    }
    if (auto it = cat.by_size.find(m.size); it != cat.by_size.end()) {
      // Files of one size are many (empty-ish configs, licences); a few candidates suffice.
      std::size_t tried = 0;
      for (const auto& r : it->second) {
        if (++tried > 16) break;
        if (same_content(r)) {
          match[i] = r;
          exact_match[i] = true;
          break;
        }
      }
      if (match[i]) {
        stats.exact_bytes += m.size;
        continue;
      }
    }
    if (path_it != cat.by_path.end()) {
      match[i] = path_it->second;
      stats.path_bytes += m.size;
      continue;
    }
    if (auto it = cat.by_name.find(m.basename()); it != cat.by_name.end()) {
      // The same name elsewhere (a moved file, a new version directory): the closest in size,
      // and only when sizes are comparable, or the reference costs more than it gives.
      std::optional<Catalogue::Ref> best;
      std::uint64_t best_gap = ~0ull;
      for (const auto& r : it->second) {
        const std::uint64_t old_size = bases_[r.base].index->members[r.member].size;
        if (old_size > 2 * m.size || m.size > 2 * old_size) continue;
        const std::uint64_t gap = old_size > m.size ? old_size - m.size : m.size - old_size;
        if (gap < best_gap) best_gap = gap, best = r;
      }
      if (best) {
        match[i] = best;
        stats.name_bytes += m.size;
        continue;
      }
    }
    stats.unmatched_bytes += m.size;
  }

  // 2. Cut the new tar into segments with their references and operations.
  const std::uint64_t target = std::clamp<std::uint64_t>(settings.segment_bytes, 1u << 20, kMaxSegmentOutput / 2);
  std::vector<Segment> segments;
  Segment current;
  std::uint64_t reference_bytes = 0;
  // The recompression bounds every decoder enforces (gzip_reproduction.h).
  std::uint64_t layer_gzip_content = 0;
  std::size_t layer_gzip_runs = 0;
  auto close_current = [&](std::uint64_t at) {
    layer_gzip_runs += gzip_runs_for_segment(current.gnu_gzip_ops);
    current.end = at;
    if (current.end > current.begin) segments.push_back(std::move(current));
    current = Segment{};
    current.begin = at;
    reference_bytes = 0;
  };
  auto add_reference = [&](Segment& s, Piece p) {
    add_piece(s, p);
    reference_bytes += p.length;
  };
  for (std::size_t i = 0; i < members.size(); ++i) {
    const LayerMember& m = members[i];
    const std::uint64_t region_end = i + 1 < members.size() ? members[i + 1].header_offset : layer.size;
    const std::uint64_t region = region_end - m.header_offset;
    const LayerMember* o = nullptr;
    std::uint32_t ob = 0;
    if (match[i]) {
      ob = match[i]->base;
      o = &bases_[ob].index->members[match[i]->member];
    }
    const bool exact = o != nullptr && exact_match[i];

    if (region > target) {
      // A big file gets segments of its own; unchanged data is copied, changed data is compressed
      // against the matching stretch of the old file.
      close_current(m.header_offset);
      for (std::uint64_t at = m.header_offset; at < region_end; at += target) {
        const std::uint64_t end = std::min(region_end, at + target);
        Segment s;
        s.begin = at;
        s.end = end;
        if (o != nullptr && at == m.header_offset) add_piece(s, Piece{PieceKind::raw, ob, o->header_offset, o->data_offset - o->header_offset});
        if (exact) {
          const std::uint64_t from = std::max(at, m.data_offset), to = std::min(end, m.data_offset + m.size);
          if (from < to) s.ops.push_back(Op{OpKind::copy, from, to - from, ob, o->data_offset + (from - m.data_offset), {}, {}});
        } else if (o != nullptr) {
          const std::uint64_t rel_begin = at - m.header_offset, rel_end = end - m.header_offset;
          const std::uint64_t old_length = o->data_offset + o->size - o->header_offset;
          const std::uint64_t from = rel_begin > kChunkMargin ? rel_begin - kChunkMargin : 0;
          const std::uint64_t to = std::min(old_length, rel_end + kChunkMargin);
          if (from < to) add_piece(s, Piece{PieceKind::raw, ob, o->header_offset + from, to - from});
        }
        segments.push_back(std::move(s));
      }
      current.begin = region_end;
      continue;
    }

    // What this member adds to the frame's bytes and to the reference.
    std::optional<Op> op;
    std::vector<Piece> pieces, pieces_without_gzip;
    std::uint64_t residual = region;
    if (o != nullptr) {
      const Piece old_header{PieceKind::raw, ob, o->header_offset, o->data_offset - o->header_offset};
      if (exact && m.size >= kMinCopy) {
        pieces = {old_header};
        op = Op{OpKind::copy, m.data_offset, m.size, ob, o->data_offset, {}, {}};
        residual -= m.size;
      } else if (auto gz = try_gzip(layer, m, bases_[ob], *o, what)) {
        pieces = {old_header, Piece{PieceKind::gunzip, ob, o->data_offset, o->size}};
        pieces_without_gzip = {Piece{PieceKind::raw, ob, o->header_offset, o->data_offset + o->size - o->header_offset}};
        residual += gz->raw.size() - m.size;
        stats.gzip_bytes += m.size;
        op = std::move(gz);
      } else {
        pieces = {Piece{PieceKind::raw, ob, o->header_offset, o->data_offset + o->size - o->header_offset}};
      }
    }
    std::uint64_t piece_bytes = 0;
    for (const auto& p : pieces) piece_bytes += p.kind == PieceKind::gunzip ? 4 * p.length : p.length;
    if (region_end - current.begin > 2 * target || current.residual + residual > target) close_current(m.header_offset);
    if (op && op->kind == OpKind::gzip) {
      const bool gnu = op->recipe == GzipRecipe::gnu_gzip_9;
      const bool within = current.gzip_ops < kMaxGzipMembersPerSegment &&
                          layer_gzip_content + op->raw.size() <= kMaxGzipContentPerLayer &&
                          layer_gzip_runs + gzip_runs_for_segment(current.gnu_gzip_ops + (gnu ? 1 : 0)) <= kMaxGzipRunsPerLayer;
      if (within) {
        ++current.gzip_ops;
        current.gnu_gzip_ops += gnu ? 1 : 0;
        layer_gzip_content += op->raw.size();
      } else {
        stats.gzip_bytes -= m.size;
        residual = region;
        pieces = pieces_without_gzip;
        op.reset();
      }
    }
    current.residual += residual;
    // A reference much bigger than the new bytes it serves is not worth its memory.
    if (reference_bytes + piece_bytes <= kMaxSegmentReference / 2 && (exact || piece_bytes <= 4 * region + 4096)) {
      for (const auto& p : pieces) add_reference(current, p);
      if (op) current.ops.push_back(std::move(*op));
    }
  }
  close_current(layer.size);

  // 3. Number the bases the payload uses, in order of first use.
  std::vector<std::uint32_t> renumber(bases_.size(), UINT32_MAX);
  Result result;
  result.stats = stats;
  auto number = [&](std::uint32_t& base) {
    if (renumber[base] == UINT32_MAX) {
      renumber[base] = static_cast<std::uint32_t>(result.bases.size());
      result.bases.push_back(bases_[base].diff_id);
    }
    base = renumber[base];
  };
  for (auto& s : segments) {
    for (auto& p : s.pieces) number(p.base);
    for (auto& op : s.ops)
      if (op.kind == OpKind::copy) number(op.base);
  }
  std::vector<const DeltaLayerFile*> used(result.bases.size());
  for (std::size_t b = 0; b < bases_.size(); ++b)
    if (renumber[b] != UINT32_MAX) used[renumber[b]] = &bases_[b];

  // 4. Write each segment: its reference, its operations, and the frame of everything else.
  std::string head(kMagic, sizeof kMagic);
  put_u8(head, kVersion);
  out(head.data(), head.size());
  ZstdCCtx cctx;
  std::string reference, residual;
  std::vector<char> frame;
  for (Segment& s : segments) {
    throw_if_interrupted();
    build_reference(s.pieces, used, reference, "base layer");
    residual.clear();
    std::uint64_t pos = s.begin;
    auto literal = [&](std::uint64_t to) {
      if (to <= pos) return;
      const std::size_t at = residual.size();
      residual.resize(at + (to - pos));
      layer.read(pos, to - pos, residual.data() + at, what);
    };
    for (const Op& op : s.ops) {
      literal(op.at);
      if (op.kind == OpKind::gzip) residual += op.raw;
      pos = op.at + op.length;
    }
    literal(s.end);
    frame.resize(ZSTD_compressBound(residual.size()));
    ZSTD_CCtx_reset(cctx.c, ZSTD_reset_session_and_parameters);
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_compressionLevel, settings.level), "level");
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_windowLog, static_cast<int>(window_log_for(reference.size() + residual.size()))), "window");
    // Long-distance matching finds the old file a few MiB back even at fast levels.
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_enableLongDistanceMatching, 1), "ldm");
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_contentSizeFlag, 1), "content size");
    if (!reference.empty()) check_zstd(ZSTD_CCtx_refPrefix(cctx.c, reference.data(), reference.size()), "prefix");
    const std::size_t n = ZSTD_compress2(cctx.c, frame.data(), frame.size(), residual.data(), residual.size());
    check_zstd(n, "compress");
    std::string rec;
    put_u8(rec, 'S');
    put_u32(rec, static_cast<std::uint32_t>(s.pieces.size()));
    for (const Piece& p : s.pieces) {
      put_u8(rec, static_cast<std::uint8_t>(p.kind));
      put_u32(rec, p.base);
      put_u64(rec, p.offset);
      put_u64(rec, p.length);
    }
    put_u32(rec, static_cast<std::uint32_t>(s.ops.size()));
    for (const Op& op : s.ops) {
      put_u8(rec, static_cast<std::uint8_t>(op.kind));
      put_u64(rec, op.at - s.begin);
      put_u64(rec, op.length);
      if (op.kind == OpKind::copy) {
        put_u32(rec, op.base);
        put_u64(rec, op.offset);
      } else {
        put_u64(rec, op.raw.size());
        put_u8(rec, static_cast<std::uint8_t>(op.recipe));
      }
    }
    put_u64(rec, s.end - s.begin);
    put_u64(rec, residual.size());
    put_u64(rec, n);
    out(rec.data(), rec.size());
    out(frame.data(), n);
    s = Segment{};  // frees the decompressed contents it held
  }
  const char end = 'E';
  out(&end, 1);
  return result;
}

// A changed .gz file whose old and new versions both decompress, and whose new bytes one of our
// recipes reproduces exactly, travels as its decompressed content.
namespace {

std::optional<Op> try_gzip(const DeltaLayerFile& layer, const LayerMember& m, const DeltaLayerFile& base,
                           const LayerMember& o, const std::string& what) {
  if (m.size < 64 || m.size > kMaxGzipMember || o.size > kMaxGzipMember) return std::nullopt;
  char magic[2];
  layer.read(m.data_offset, 2, magic, what);
  if (magic[0] != '\x1f' || magic[1] != '\x8b') return std::nullopt;
  std::string gz(m.size, '\0');
  layer.read(m.data_offset, m.size, gz.data(), what);
  auto raw = gunzip_exactly(gz, kMaxSegmentOutput / 4);
  if (!raw) return std::nullopt;
  std::string old(o.size, '\0');
  base.read(o.data_offset, o.size, old.data(), "base layer");
  if (!gunzip_exactly(old, kMaxSegmentOutput / 4)) return std::nullopt;
  if (!plausible_gzip_sizes(m.size, raw->size())) return std::nullopt;
  const auto recipe = find_gzip_recipe(gz, *raw);
  if (!recipe) return std::nullopt;
  Op op{OpKind::gzip, m.data_offset, m.size, 0, 0, *recipe, std::move(*raw)};
  return op;
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

}  // namespace

void decode_tar_delta(ByteStream& payload, const std::vector<DeltaLayerFile>& bases, std::uint64_t declared_size,
                      const std::function<void(const char*, std::size_t)>& out, const std::string& what) {
  PayloadReader r{payload, what};
  char magic[sizeof kMagic];
  r.exact(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) fail(Errc::bad_input, "{}: not a zstd delta payload", what);
  if (const auto v = r.u8(); v != kVersion) fail(Errc::unsupported, "{}: zstd delta payload version {} is not supported", what, v);
  auto check_range = [&](std::uint32_t base, std::uint64_t offset, std::uint64_t length) {
    if (base >= bases.size())
      fail(Errc::bad_input, "{}: the delta names base layer #{}, but only {} are listed", what, base, bases.size());
    const std::uint64_t size = bases[base].size;
    if (offset > size || length > size - offset)
      fail(Errc::bad_input, "{}: the delta references bytes {}..{} of base layer {}, which has only {}", what, offset,
           offset + length, bases[base].diff_id.short_str(), size);
  };
  ZstdDCtx dctx;
  std::string reference;
  std::vector<char> frame, residual, copy_buffer;
  std::uint64_t produced = 0, layer_gzip_content = 0;
  std::size_t layer_gzip_runs = 0;
  for (;;) {
    throw_if_interrupted();
    const auto tag = r.u8();
    if (tag == 'E') break;
    if (tag != 'S') fail(Errc::bad_input, "{}: damaged delta payload (unknown record)", what);
    const std::uint64_t piece_count = r.uint(4);
    if (piece_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} reference pieces", what, piece_count);
    std::vector<Piece> pieces(piece_count);
    std::uint64_t listed = 0;
    for (auto& p : pieces) {
      const auto kind = r.u8();
      if (kind > 1) fail(Errc::bad_input, "{}: unknown reference kind {}", what, kind);
      p.kind = static_cast<PieceKind>(kind);
      p.base = static_cast<std::uint32_t>(r.uint(4));
      p.offset = r.uint(8);
      p.length = r.uint(8);
      check_range(p.base, p.offset, p.length);
      listed += p.length;
      if (listed > kMaxSegmentReference)
        fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what, kMaxSegmentReference);
    }
    const std::uint64_t op_count = r.uint(4);
    if (op_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} operations", what, op_count);
    std::vector<Op> ops(op_count);
    std::size_t segment_gzip_ops = 0, segment_gnu_gzip_ops = 0;
    std::vector<std::uint64_t> raw_lengths(op_count, 0);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      Op& op = ops[i];
      const auto kind = r.u8();
      if (kind != 1 && kind != 2) fail(Errc::bad_input, "{}: unknown delta operation {}", what, kind);
      op.kind = static_cast<OpKind>(kind);
      op.at = r.uint(8);
      op.length = r.uint(8);
      if (op.kind == OpKind::copy) {
        op.base = static_cast<std::uint32_t>(r.uint(4));
        op.offset = r.uint(8);
        check_range(op.base, op.offset, op.length);
      } else {
        raw_lengths[i] = r.uint(8);
        op.recipe = static_cast<GzipRecipe>(r.u8());
        if (op.recipe != GzipRecipe::zlib_9 && op.recipe != GzipRecipe::gnu_gzip_9)
          fail(Errc::unsupported, "{}: unknown gzip recipe {}", what, static_cast<int>(op.recipe));
        // Every bound is checked before anything is recompressed: the work follows from them.
        if (!plausible_gzip_sizes(op.length, raw_lengths[i]))
          fail(Errc::limit, "{}: a gzip operation claims {} bytes of content for a {}-byte file (at most {} of {})", what,
               raw_lengths[i], op.length, kMaxGzipContent, kMaxGzipMember);
        if (++segment_gzip_ops > kMaxGzipMembersPerSegment)
          fail(Errc::limit, "{}: a delta segment has more than {} gzip operations", what, kMaxGzipMembersPerSegment);
        segment_gnu_gzip_ops += op.recipe == GzipRecipe::gnu_gzip_9 ? 1 : 0;
        layer_gzip_content += raw_lengths[i];
        if (layer_gzip_content > kMaxGzipContentPerLayer)
          fail(Errc::limit, "{}: the delta asks to recompress more than {} bytes of gzip content", what,
               kMaxGzipContentPerLayer);
      }
    }
    layer_gzip_runs += gzip_runs_for_segment(segment_gnu_gzip_ops);
    if (layer_gzip_runs > kMaxGzipRunsPerLayer)
      fail(Errc::limit, "{}: the delta would run gzip more than {} times", what, kMaxGzipRunsPerLayer);
    const std::uint64_t output_size = r.uint(8);
    const std::uint64_t residual_size = r.uint(8);
    const std::uint64_t frame_size = r.uint(8);
    if (output_size > declared_size - produced)
      fail(Errc::bad_input, "{}: a delta segment claims {} bytes, more than the layer's declared size allows", what, output_size);
    if (residual_size > kMaxSegmentOutput) fail(Errc::bad_input, "{}: a delta segment claims {} bytes of frame", what, residual_size);
    if (frame_size > ZSTD_compressBound(residual_size) + 1024)
      fail(Errc::bad_input, "{}: a delta segment's frame is larger than its content could need", what);
    // The operations must tile the segment in order, and the literal gaps and decompressed
    // contents must add up to exactly what the frame holds.
    std::uint64_t pos = 0, expected_residual = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      if (op.at < pos || op.at > output_size || op.length > output_size - op.at)
        fail(Errc::bad_input, "{}: delta operations overlap or leave their segment", what);
      expected_residual += (op.at - pos) + raw_lengths[i];
      pos = op.at + op.length;
    }
    expected_residual += output_size - pos;
    if (expected_residual != residual_size) fail(Errc::bad_input, "{}: a delta segment's parts do not add up", what);

    build_reference(pieces, bases, reference, what);
    frame.resize(frame_size);
    r.exact(frame.data(), frame.size());
    const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (content != residual_size) fail(Errc::bad_input, "{}: a delta frame's size does not match its record", what);
    // The window a frame may ask for is bounded by what it can legitimately reach: its reference
    // and its content (the encoder sizes it so). Checked here, as one-shot decoding ignores
    // ZSTD_d_windowLogMax.
    const unsigned window_log_max = window_log_for(reference.size() + residual_size);
    ZSTD_frameHeader frame_header{};
    if (ZSTD_getFrameHeader(&frame_header, frame.data(), frame.size()) != 0 || frame_header.frameType != ZSTD_frame)
      fail(Errc::bad_input, "{}: a delta segment does not hold a zstd frame", what);
    if (frame_header.windowSize > (1ull << window_log_max))
      fail(Errc::limit, "{}: a delta frame asks for a {}-byte zstd window, more than its {}-byte reference and content need",
           what, frame_header.windowSize, reference.size() + residual_size);
    residual.resize(residual_size);
    ZSTD_DCtx_reset(dctx.d, ZSTD_reset_session_and_parameters);
    check_zstd(ZSTD_DCtx_setParameter(dctx.d, ZSTD_d_windowLogMax, static_cast<int>(window_log_max)), "window");
    if (!reference.empty()) check_zstd(ZSTD_DCtx_refPrefix(dctx.d, reference.data(), reference.size()), "prefix");
    const std::size_t n = ZSTD_decompressDCtx(dctx.d, residual.data(), residual.size(), frame.data(), frame.size());
    if (ZSTD_isError(n)) fail(Errc::bad_input, "{}: damaged delta frame: {}", what, ZSTD_getErrorName(n));
    if (n != residual_size) fail(Errc::bad_input, "{}: a delta frame decoded to {} bytes, not {}", what, n, residual_size);

    // Recompress the segment's gzip files first, on two threads: they are the slow part of a
    // segment (gzip -9), and independent of each other.
    std::vector<std::uint64_t> content_at(ops.size(), 0);
    for (std::uint64_t i = 0, at = 0, prev = 0; i < ops.size(); ++i) {
      at += ops[i].at - prev;
      content_at[i] = at;
      at += raw_lengths[i];
      prev = ops[i].at + ops[i].length;
    }
    std::vector<std::string> gz(ops.size());
    // Each half of the gzip files, one recipe at a time, in one batch per recipe.
    auto recompress = [&](std::size_t half) {
      for (const GzipRecipe recipe : {GzipRecipe::zlib_9, GzipRecipe::gnu_gzip_9}) {
        std::vector<std::size_t> index;
        std::vector<std::string_view> raws;
        std::vector<std::uint64_t> expected;
        for (std::size_t i = 0, n = 0; i < ops.size(); ++i) {
          if (ops[i].kind != OpKind::gzip || ops[i].recipe != recipe || n++ % 2 != half) continue;
          index.push_back(i);
          raws.emplace_back(residual.data() + content_at[i], raw_lengths[i]);
          expected.push_back(ops[i].length);
        }
        if (index.empty()) continue;
        auto made = regzip_many(recipe, raws, expected);
        for (std::size_t k = 0; k < index.size(); ++k) gz[index[k]] = std::move(made[k]);
      }
    };
    {
      auto other = std::async(std::launch::async, recompress, 1);
      std::exception_ptr mine;
      try {
        recompress(0);
      } catch (...) {
        mine = std::current_exception();
      }
      other.get();  // rethrows the other thread's failure
      if (mine) std::rethrow_exception(mine);
    }

    std::uint64_t rpos = 0;
    pos = 0;
    auto literal = [&](std::uint64_t to) {
      out(residual.data() + rpos, to - pos);
      rpos += to - pos;
    };
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      literal(op.at);
      if (op.kind == OpKind::copy) {
        for (std::uint64_t done = 0; done < op.length;) {
          const std::uint64_t chunk = std::min<std::uint64_t>(op.length - done, kBlockSize);
          copy_buffer.resize(chunk);
          bases[op.base].read(op.offset + done, chunk, copy_buffer.data(), "base layer");
          out(copy_buffer.data(), chunk);
          done += chunk;
        }
      } else {
        out(gz[i].data(), gz[i].size());
        rpos += raw_lengths[i];
      }
      pos = op.at + op.length;
    }
    literal(output_size);
    produced += output_size;
  }
  if (produced != declared_size)
    fail(Errc::bad_input, "{}: the delta rebuilt {} bytes, but the layer has {}", what, produced, declared_size);
  char extra;
  if (payload.read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after the end of the delta payload", what);
}

}  // namespace dd
