#include "delta/zstd/tar_delta.h"

#include "core/interruption.h"
#include "delta/base_catalogue.h"
#include "delta/zstd/planner.h"
#include "delta/zstd/wire.h"

namespace dd {

using namespace tar_delta;

TarDeltaEncoder::TarDeltaEncoder(std::vector<DeltaLayerFile> bases, const Limits& limits)
    : bases_(std::move(bases)), limits_(limits), catalogue_(std::make_unique<BaseCatalogue>(bases_)) {}

TarDeltaEncoder::~TarDeltaEncoder() = default;

std::size_t TarDeltaEncoder::most_similar_base(const DeltaLayerFile& layer) const {
  return catalogue_->most_similar_base(layer);
}

TarDeltaEncoder::Result TarDeltaEncoder::encode(const DeltaLayerFile& layer, const DeltaSettings& settings,
                                                const std::function<void(const char*, std::size_t)>& out) {
  const std::string what = "layer " + layer.diff_id.short_str();
  // 1. Match each new file with an old one; 2. cut the new tar into segments.
  TarDeltaStats stats;
  const std::vector<FileMatch> match = catalogue_->match(layer, stats, what);
  std::vector<Segment> segments = plan_segments(layer, bases_, match, settings.segment_bytes, stats, what);

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

}  // namespace dd
