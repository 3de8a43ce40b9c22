#include "formats/tar_delta.h"

#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "pipeline/error.h"
#include "pipeline/interruption.h"

namespace dd {
namespace {

constexpr char kMagic[4] = {'D', 'D', 'Z', 'T'};
constexpr std::uint8_t kVersion = 1;
constexpr std::uint32_t kMaxPieces = 1u << 20;
// A huge file is cut into chunks; each chunk's reference is the same stretch of the old file
// widened by this much on each side, so insertions and deletions still find their match.
constexpr std::uint64_t kChunkMargin = 4u << 20;

void pread_exact(const UniqueFd& fd, std::uint64_t offset, std::uint64_t length, char* out, const std::string& what) {
  while (length > 0) {
    const ssize_t n = ::pread(fd.get(), out, std::min<std::uint64_t>(length, 1u << 30), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(what);
    }
    if (n == 0) fail(Errc::bad_input, "{} ended early", what);
    out += n;
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
}

Digest hash_range(const UniqueFd& fd, std::uint64_t offset, std::uint64_t length, const std::string& what) {
  Hasher h;
  std::vector<char> buffer(std::min<std::uint64_t>(length, kBlockSize));
  while (length > 0) {
    const std::uint64_t n = std::min<std::uint64_t>(length, buffer.size());
    pread_exact(fd, offset, n, buffer.data(), what);
    h.update(buffer.data(), n);
    offset += n;
    length -= n;
  }
  return h.finish();
}

struct Piece {
  std::uint32_t base = 0;  // index into the encoder's bases until renumbered for the payload
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Segment {
  std::uint64_t begin = 0, end = 0;  // new bytes
  std::vector<Piece> pieces;         // the reference, in order
  std::uint64_t reference_bytes() const {
    std::uint64_t n = 0;
    for (const auto& p : pieces) n += p.length;
    return n;
  }
};

void add_piece(Segment& s, Piece p) {
  if (p.length == 0) return;
  if (!s.pieces.empty()) {
    Piece& last = s.pieces.back();
    if (last.base == p.base && last.offset + last.length == p.offset) {
      last.length += p.length;
      return;
    }
  }
  s.pieces.push_back(p);
}

unsigned window_log_for(std::uint64_t bytes) {
  const unsigned log = bytes <= 1024 ? 10u : static_cast<unsigned>(std::bit_width(bytes - 1));
  return std::clamp<unsigned>(log, 10, 31);  // zstd's window log range on 64-bit
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
      it = cat.hashes.emplace(key, hash_range(*bases_[r.base].file, m.data_offset, m.size, "base layer")).first;
    }
    return it->second;
  };

  // 1. Match each new file with an old one.
  const auto& members = layer.index->members;
  std::vector<std::optional<Catalogue::Ref>> match(members.size());
  TarDeltaStats stats;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const LayerMember& m = members[i];
    if (!m.regular || m.size == 0) continue;
    std::optional<Digest> own;
    auto same_content = [&](Catalogue::Ref r) {
      if (!own) own = hash_range(*layer.file, m.data_offset, m.size, what);
      return base_hash(r) == *own;
    };
    auto path_it = cat.by_path.find(m.path);
    if (path_it != cat.by_path.end()) {
      const LayerMember& old = bases_[path_it->second.base].index->members[path_it->second.member];
      if (old.size == m.size && same_content(path_it->second)) {
        match[i] = path_it->second;
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

  // 2. Cut the new tar into segments with their references.
  const std::uint64_t target = std::clamp<std::uint64_t>(settings.segment_bytes, 1u << 20, kMaxSegmentOutput / 2);
  std::vector<Segment> segments;
  Segment current;
  auto close_current = [&](std::uint64_t at) {
    current.end = at;
    if (current.end > current.begin) segments.push_back(std::move(current));
    current = Segment{};
    current.begin = at;
  };
  for (std::size_t i = 0; i < members.size(); ++i) {
    const LayerMember& m = members[i];
    const std::uint64_t region_end = i + 1 < members.size() ? members[i + 1].header_offset : layer.size;
    std::optional<Piece> old;
    if (match[i]) {
      const LayerMember& o = bases_[match[i]->base].index->members[match[i]->member];
      old = Piece{match[i]->base, o.header_offset, o.data_offset + o.size - o.header_offset};
    }
    const std::uint64_t region = region_end - m.header_offset;
    if (region > target) {
      // A big file gets segments of its own, each against the matching stretch of the old file.
      close_current(m.header_offset);
      for (std::uint64_t at = m.header_offset; at < region_end; at += target) {
        const std::uint64_t end = std::min(region_end, at + target);
        Segment s;
        s.begin = at;
        s.end = end;
        if (old) {
          const std::uint64_t rel_begin = at - m.header_offset, rel_end = end - m.header_offset;
          const std::uint64_t from = rel_begin > kChunkMargin ? rel_begin - kChunkMargin : 0;
          const std::uint64_t to = std::min(old->length, rel_end + kChunkMargin);
          if (from < to) add_piece(s, Piece{old->base, old->offset + from, to - from});
        }
        segments.push_back(std::move(s));
      }
      current.begin = region_end;
      continue;
    }
    if (region_end - current.begin > target) close_current(m.header_offset);
    // A reference much bigger than the new bytes it serves is not worth its memory.
    if (old && current.reference_bytes() + old->length <= kMaxSegmentReference - 2 * target &&
        old->length <= 4 * region + 4096)
      add_piece(current, *old);
  }
  close_current(layer.size);

  // 3. Number the bases the payload uses, in order of first use.
  std::vector<std::uint32_t> renumber(bases_.size(), UINT32_MAX);
  Result result;
  result.stats = stats;
  for (auto& s : segments)
    for (auto& p : s.pieces) {
      if (renumber[p.base] == UINT32_MAX) {
        renumber[p.base] = static_cast<std::uint32_t>(result.bases.size());
        result.bases.push_back(bases_[p.base].diff_id);
      }
      p.base = renumber[p.base];
    }
  std::vector<const DeltaLayerFile*> used(result.bases.size());
  for (std::size_t b = 0; b < bases_.size(); ++b)
    if (renumber[b] != UINT32_MAX) used[renumber[b]] = &bases_[b];

  // 4. Compress each segment against its reference.
  std::string head(kMagic, sizeof kMagic);
  put_u8(head, kVersion);
  out(head.data(), head.size());
  ZstdCCtx cctx;
  std::vector<char> reference, input, frame;
  for (const Segment& s : segments) {
    throw_if_interrupted();
    reference.resize(s.reference_bytes());
    std::size_t at = 0;
    for (const Piece& p : s.pieces) {
      pread_exact(*used[p.base]->file, p.offset, p.length, reference.data() + at, "base layer");
      at += p.length;
    }
    input.resize(s.end - s.begin);
    pread_exact(*layer.file, s.begin, input.size(), input.data(), what);
    frame.resize(ZSTD_compressBound(input.size()));
    ZSTD_CCtx_reset(cctx.c, ZSTD_reset_session_and_parameters);
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_compressionLevel, settings.level), "level");
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_windowLog, static_cast<int>(window_log_for(reference.size() + input.size()))), "window");
    // Long-distance matching finds the old file a few MiB back even at fast levels.
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_enableLongDistanceMatching, 1), "ldm");
    check_zstd(ZSTD_CCtx_setParameter(cctx.c, ZSTD_c_contentSizeFlag, 1), "content size");
    if (!reference.empty()) check_zstd(ZSTD_CCtx_refPrefix(cctx.c, reference.data(), reference.size()), "prefix");
    const std::size_t n = ZSTD_compress2(cctx.c, frame.data(), frame.size(), input.data(), input.size());
    check_zstd(n, "compress");
    std::string rec;
    put_u8(rec, 'S');
    put_u32(rec, static_cast<std::uint32_t>(s.pieces.size()));
    for (const Piece& p : s.pieces) {
      put_u32(rec, p.base);
      put_u64(rec, p.offset);
      put_u64(rec, p.length);
    }
    put_u64(rec, input.size());
    put_u64(rec, n);
    out(rec.data(), rec.size());
    out(frame.data(), n);
  }
  const char end = 'E';
  out(&end, 1);
  return result;
}

namespace {

struct PayloadReader {
  ByteStream& in;
  const std::string& what;
  void exact(char* p, std::size_t n) {
    while (n > 0) {
      const std::size_t got = in.read(p, n);
      if (got == 0) fail(Errc::bad_input, "{}: the delta payload is truncated", what);
      p += got;
      n -= got;
    }
  }
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
  ZstdDCtx dctx;
  std::vector<char> reference, frame, output;
  std::uint64_t produced = 0;
  for (;;) {
    throw_if_interrupted();
    const auto tag = r.u8();
    if (tag == 'E') break;
    if (tag != 'S') fail(Errc::bad_input, "{}: damaged delta payload (unknown record)", what);
    const std::uint64_t pieces = r.uint(4);
    if (pieces > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} reference pieces", what, pieces);
    std::vector<Piece> list(pieces);
    std::uint64_t reference_size = 0;
    for (auto& p : list) {
      p.base = static_cast<std::uint32_t>(r.uint(4));
      p.offset = r.uint(8);
      p.length = r.uint(8);
      if (p.base >= bases.size())
        fail(Errc::bad_input, "{}: the delta names base layer #{}, but only {} are listed", what, p.base, bases.size());
      const std::uint64_t base_size = bases[p.base].size;
      if (p.offset > base_size || p.length > base_size - p.offset)
        fail(Errc::bad_input, "{}: the delta references bytes {}..{} of base layer {}, which has only {}", what,
             p.offset, p.offset + p.length, bases[p.base].diff_id.short_str(), base_size);
      reference_size += p.length;
      if (reference_size > kMaxSegmentReference)
        fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what, kMaxSegmentReference);
    }
    const std::uint64_t output_size = r.uint(8);
    const std::uint64_t frame_size = r.uint(8);
    if (output_size > kMaxSegmentOutput || output_size > declared_size - produced)
      fail(Errc::bad_input, "{}: a delta segment claims {} bytes, more than the layer's declared size allows", what, output_size);
    if (frame_size > ZSTD_compressBound(output_size) + 1024)
      fail(Errc::bad_input, "{}: a delta segment's frame is larger than its output could need", what);
    reference.resize(reference_size);
    std::size_t at = 0;
    for (const Piece& p : list) {
      pread_exact(*bases[p.base].file, p.offset, p.length, reference.data() + at, "base layer");
      at += p.length;
    }
    frame.resize(frame_size);
    r.exact(frame.data(), frame.size());
    const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (content != output_size) fail(Errc::bad_input, "{}: a delta frame's size does not match its record", what);
    output.resize(output_size);
    ZSTD_DCtx_reset(dctx.d, ZSTD_reset_session_and_parameters);
    // The window a frame may ask for is bounded by what it can legitimately reach.
    ZSTD_DCtx_setParameter(dctx.d, ZSTD_d_windowLogMax, static_cast<int>(window_log_for(reference_size + output_size)));
    if (!reference.empty()) check_zstd(ZSTD_DCtx_refPrefix(dctx.d, reference.data(), reference.size()), "prefix");
    const std::size_t n = ZSTD_decompressDCtx(dctx.d, output.data(), output.size(), frame.data(), frame.size());
    if (ZSTD_isError(n)) fail(Errc::bad_input, "{}: damaged delta frame: {}", what, ZSTD_getErrorName(n));
    if (n != output_size) fail(Errc::bad_input, "{}: a delta frame decoded to {} bytes, not {}", what, n, output_size);
    out(output.data(), output.size());
    produced += output_size;
  }
  if (produced != declared_size)
    fail(Errc::bad_input, "{}: the delta rebuilt {} bytes, but the layer has {}", what, produced, declared_size);
  char extra;
  if (payload.read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after the end of the delta payload", what);
}

}  // namespace dd
