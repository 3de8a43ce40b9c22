#include "delta/zstd/tar_delta.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <cstring>
#include <future>

#include "core/interruption.h"
#include "delta/zstd/wire.h"

namespace dd {

using namespace tar_delta;

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
