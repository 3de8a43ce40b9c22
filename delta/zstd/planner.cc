#include "delta/zstd/planner.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "core/interruption.h"

#include "delta/suffix/suffix_delta.h"

namespace dd::tar_delta {
namespace {

// A huge file is cut into chunks; each chunk's reference is the same stretch of the old file
// widened by this much on each side, so insertions and deletions still find their match.
constexpr std::uint64_t kChunkMargin = 4u << 20;
// Unchanged data shorter than this stays in the frame: a copy operation costs ~30 bytes.
constexpr std::uint64_t kMinCopy = 16384;
// Changed files smaller than this stay in the frame: a patch's controls cost more than they save.
constexpr std::uint64_t kMinPatch = 256;
// A file bigger than the suffix matcher's window is patched in stretches of this many new bytes,
// each against the same stretch of the old file widened by kPatchMargin on each side (so the
// window stays within suffix::kMaxSuffixSource).
constexpr std::uint64_t kPatchStretch = 8u << 20;
constexpr std::uint64_t kPatchMargin = 4u << 20;
static_assert(kPatchStretch + 2 * kPatchMargin <= suffix::kMaxSuffixSource && kPatchStretch <= suffix::kMaxSuffixTarget);

// Patch operations for new file bytes [from, to) of `m` against its old version `o` in base `ob`.
void add_patches(std::vector<Op>& ops, const LayerMember& m, std::uint32_t ob, const LayerMember& o, std::uint64_t from,
                 std::uint64_t to) {
  if (to - from < kMinPatch) return;
  const bool whole = o.size <= suffix::kMaxSuffixSource && to - from <= suffix::kMaxSuffixTarget;
  for (std::uint64_t at = from; at < to;) {
    const std::uint64_t end = whole ? to : std::min(to, at + kPatchStretch);
    std::uint64_t old_from = 0, old_to = o.size;
    if (!whole) {
      const std::uint64_t rel = at - m.data_offset;
      old_from = std::min(o.size, rel > kPatchMargin ? rel - kPatchMargin : 0);
      old_to = std::min(o.size, rel + (end - at) + kPatchMargin);
    }
    Op op{OpKind::patch, at, end - at, ob, o.data_offset + old_from, {}, {}};
    op.source_length = old_to - old_from;
    ops.push_back(std::move(op));
    at = end;
  }
}


// A changed .gz file whose old and new versions both decompress, and whose new bytes one of our
// recipes reproduces exactly, travels as its decompressed content. With `known` (what
// find_gzip_ops found for it), no recipe is searched for: that one is used, or none.
std::optional<Op> try_gzip(const DeltaLayerFile& layer, const LayerMember& m, const DeltaLayerFile& base,
                           const LayerMember& o, const std::optional<GzipRecipe>* known, const std::string& what) {
  if (known != nullptr && !*known) return std::nullopt;
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
  const auto recipe = known != nullptr ? *known : find_gzip_recipe(gz, *raw);
  if (!recipe) return std::nullopt;
  Op op{OpKind::gzip, m.data_offset, m.size, 0, 0, *recipe, std::move(*raw)};
  return op;
}

// Finding a recipe recompresses the file (zlib and gzip -9), the slow part of planning a layer
// with many changed .gz files: done for all of them first, on `jobs` threads. The operations
// found are kept while their contents add up to kMaxGzipContentPerLayer (what a layer may carry
// anyway); past that only the recipe is kept, and the planner decompresses the file again.
struct GzipFindings {
  std::vector<std::optional<Op>> ops;
  std::vector<std::optional<GzipRecipe>> recipes;
};
GzipFindings find_gzip_ops(const DeltaLayerFile& layer, const std::vector<DeltaLayerFile>& bases,
                           const std::vector<FileMatch>& match, unsigned jobs, const std::string& what) {
  const auto& members = layer.index->members;
  GzipFindings found{std::vector<std::optional<Op>>(members.size()), std::vector<std::optional<GzipRecipe>>(members.size())};
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < members.size(); ++i)
    if (match[i].ref && !(match[i].exact && members[i].size >= kMinCopy)) todo.push_back(i);
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> held{0};
  std::mutex failure_lock;
  std::exception_ptr failure;
  auto work = [&] {
    try {
      for (std::size_t k; (k = next++) < todo.size();) {
        throw_if_interrupted();
        const std::size_t i = todo[k];
        const auto& ref = *match[i].ref;
        const auto& base = bases[ref.base];
        auto op = try_gzip(layer, members[i], base, base.index->members[ref.member], nullptr, what);
        if (!op) continue;
        found.recipes[i] = op->recipe;
        if ((held += op->raw.size()) <= kMaxGzipContentPerLayer) found.ops[i] = std::move(op);
      }
    } catch (...) {
      const std::lock_guard lock(failure_lock);
      if (!failure) failure = std::current_exception();
      next = todo.size();
    }
  };
  {
    std::vector<std::jthread> threads;
    for (unsigned t = 1; t < std::min<std::size_t>(jobs, todo.size()); ++t) threads.emplace_back(work);
    work();
  }
  if (failure) std::rethrow_exception(failure);
  return found;
}

}  // namespace

std::vector<Segment> plan_segments(const DeltaLayerFile& layer, const std::vector<DeltaLayerFile>& bases,
                                   const std::vector<FileMatch>& match, std::uint64_t segment_bytes, bool patches,
                                   unsigned jobs, TarDeltaStats& stats, const std::string& what) {
  const auto& members = layer.index->members;
  GzipFindings gzip = find_gzip_ops(layer, bases, match, std::max(1u, jobs), what);
  const std::uint64_t target = std::clamp<std::uint64_t>(segment_bytes, 1u << 20, kMaxSegmentOutput / 2);
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
    if (match[i].ref) {
      ob = match[i].ref->base;
      o = &bases[ob].index->members[match[i].ref->member];
    }
    const bool exact = o != nullptr && match[i].exact;

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
          if (patches)
            add_patches(s.ops, m, ob, *o, std::max(at, m.data_offset), std::min(end, m.data_offset + m.size));
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
      } else if (auto gz = gzip.ops[i] ? std::move(gzip.ops[i]) : try_gzip(layer, m, bases[ob], *o, &gzip.recipes[i], what)) {
        pieces = {old_header, Piece{PieceKind::gunzip, ob, o->data_offset, o->size}};
        pieces_without_gzip = {Piece{PieceKind::raw, ob, o->header_offset, o->data_offset + o->size - o->header_offset}};
        residual += gz->raw.size() - m.size;
        stats.gzip_bytes += m.size;
        op = std::move(gz);
      } else {
        pieces = {Piece{PieceKind::raw, ob, o->header_offset, o->data_offset + o->size - o->header_offset}};
      }
    }
    std::vector<Op> patch_ops;
    if (patches && o != nullptr && !exact && !op) add_patches(patch_ops, m, ob, *o, m.data_offset, m.data_offset + m.size);
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
    for (Op& p : patch_ops) current.ops.push_back(std::move(p));
  }
  close_current(layer.size);
  return segments;
}

}  // namespace dd::tar_delta
