#include "delta/zstd/tar_delta.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <cstring>
#include <future>

#include "core/interruption.h"
#include "delta/suffix/suffix_delta.h"
#include "delta/zstd/wire.h"

namespace dd {

using namespace tar_delta;

void decode_tar_delta(ByteStream& payload, const std::vector<DeltaLayerFile>& bases, std::uint64_t declared_size,
                      const std::function<void(const char*, std::size_t)>& sink, const std::string& what) {
  // Output is handed on in blocks: a payload of many one-byte operations must not turn into as
  // many hand-offs to the reader of the layer.
  std::string pending;
  pending.reserve(kBlockSize);
  auto out = [&](const char* p, std::size_t n) {
    if (pending.size() + n > kBlockSize && !pending.empty()) {
      sink(pending.data(), pending.size());
      pending.clear();
    }
    if (n >= kBlockSize) sink(p, n);
    else pending.append(p, n);
  };
  PayloadReader r{payload, what};
  char magic[sizeof kMagic];
  r.exact(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) fail(Errc::bad_input, "{}: not a zstd delta payload", what);
  const auto version = r.u8();
  if (version != kVersion1 && version != kVersion2)
    fail(Errc::unsupported, "{}: zstd delta payload version {} is not supported", what, version);
  // Every byte read from a base (references, copies, patch sources) counts against this: a
  // payload of many small segments cannot make the decoder read the bases over and over.
  const std::uint64_t read_budget = 16 * declared_size + (1ull << 30);
  std::uint64_t base_reads = 0;
  auto count_read = [&](std::uint64_t n) {
    base_reads += n;
    if (base_reads > read_budget)
      fail(Errc::limit, "{}: the delta reads more than {} bytes of its base layers for a {}-byte layer", what, read_budget,
           declared_size);
  };
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
  std::string source, patched;
  std::uint64_t produced = 0, layer_gzip_content = 0;
  std::size_t layer_gzip_runs = 0;
  for (;;) {
    throw_if_interrupted();
    const auto tag = r.u8();
    if (tag == 'E') break;
    if (tag != 'S') fail(Errc::bad_input, "{}: damaged delta payload (unknown record)", what);
    // Version 2 keeps the segment's table in a zstd frame of its own.
    std::unique_ptr<MemoryStream> table_stream;
    if (version == kVersion2) {
      const std::uint64_t table_size = r.uint(8), table_frame_size = r.uint(8);
      if (table_size > kMaxSegmentTable) fail(Errc::limit, "{}: a delta segment's table claims {} bytes", what, table_size);
      if (table_frame_size > ZSTD_compressBound(table_size) + 1024)
        fail(Errc::bad_input, "{}: a delta segment's table frame is larger than its content could need", what);
      std::string table_frame(table_frame_size, '\0'), table(table_size, '\0');
      r.exact(table_frame.data(), table_frame.size());
      if (ZSTD_getFrameContentSize(table_frame.data(), table_frame.size()) != table_size)
        fail(Errc::bad_input, "{}: a delta segment's table frame does not match its size", what);
      const std::size_t n = ZSTD_decompress(table.data(), table.size(), table_frame.data(), table_frame.size());
      if (ZSTD_isError(n) || n != table_size) fail(Errc::bad_input, "{}: damaged delta segment table", what);
      table_stream = std::make_unique<MemoryStream>(std::move(table));
    }
    PayloadReader t{table_stream ? *table_stream : payload, what};
    const std::uint64_t piece_count = t.uint(4);
    if (piece_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} reference pieces", what, piece_count);
    std::vector<Piece> pieces(piece_count);
    std::uint64_t listed = 0;
    for (auto& p : pieces) {
      const auto kind = t.u8();
      if (kind > 1) fail(Errc::bad_input, "{}: unknown reference kind {}", what, kind);
      p.kind = static_cast<PieceKind>(kind);
      p.base = static_cast<std::uint32_t>(t.uint(4));
      p.offset = t.uint(8);
      p.length = t.uint(8);
      check_range(p.base, p.offset, p.length);
      listed += p.length;
      if (listed > kMaxSegmentReference)
        fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what, kMaxSegmentReference);
    }
    const std::uint64_t op_count = t.uint(4);
    if (op_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} operations", what, op_count);
    std::vector<Op> ops(op_count);
    std::size_t segment_gzip_ops = 0, segment_gnu_gzip_ops = 0;
    std::vector<std::uint64_t> raw_lengths(op_count, 0);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      Op& op = ops[i];
      const auto kind = t.u8();
      if (kind != 1 && kind != 2 && !(kind == 3 && version == kVersion2))
        fail(Errc::bad_input, "{}: unknown delta operation {}", what, kind);
      op.kind = static_cast<OpKind>(kind);
      op.at = t.uint(8);
      op.length = t.uint(8);
      if (op.kind == OpKind::copy) {
        op.base = static_cast<std::uint32_t>(t.uint(4));
        op.offset = t.uint(8);
        check_range(op.base, op.offset, op.length);
      } else if (op.kind == OpKind::patch) {
        op.base = static_cast<std::uint32_t>(t.uint(4));
        op.offset = t.uint(8);
        op.source_length = t.uint(8);
        op.controls = t.uint(8);
        op.diff = t.uint(8);
        op.extra = t.uint(8);
        check_range(op.base, op.offset, op.source_length);
        if (op.length > suffix::kMaxSuffixTarget || op.source_length > suffix::kMaxSuffixSource)
          fail(Errc::limit, "{}: a patch operation makes {} bytes from {}, more than the suffix matcher's window", what,
               op.length, op.source_length);
        if (op.controls > kMaxSegmentOutput || op.diff > op.length || op.extra > op.length)
          fail(Errc::bad_input, "{}: a patch operation's streams do not fit its size", what);
        raw_lengths[i] = op.controls + op.diff + op.extra;
      } else {
        raw_lengths[i] = t.uint(8);
        op.recipe = static_cast<GzipRecipe>(t.u8());
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
    const std::uint64_t output_size = t.uint(8);
    const std::uint64_t residual_size = t.uint(8);
    if (table_stream) {
      char extra;
      if (table_stream->read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after a delta segment's table", what);
    }
    const std::uint64_t frame_size = r.uint(8);
    if (output_size == 0) fail(Errc::bad_input, "{}: a delta segment makes no bytes", what);
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

    for (const Piece& p : pieces) count_read(p.length);
    for (const Op& op : ops) count_read(op.kind == OpKind::copy ? op.length : op.kind == OpKind::patch ? op.source_length : 0);
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
      } else if (op.kind == OpKind::patch) {
        source.resize(op.source_length);
        bases[op.base].read(op.offset, op.source_length, source.data(), "base layer");
        patched.resize(op.length);
        const char* streams = residual.data() + content_at[i];
        suffix::apply({streams, op.controls}, {streams + op.controls, op.diff}, {streams + op.controls + op.diff, op.extra},
                      source, op.length, patched.data(), what);
        out(patched.data(), patched.size());
        rpos += raw_lengths[i];
      } else {
        out(gz[i].data(), gz[i].size());
        rpos += raw_lengths[i];
      }
      pos = op.at + op.length;
    }
    literal(output_size);
    produced += output_size;
  }
  if (!pending.empty()) sink(pending.data(), pending.size());
  if (produced != declared_size)
    fail(Errc::bad_input, "{}: the delta rebuilt {} bytes, but the layer has {}", what, produced, declared_size);
  char extra;
  if (payload.read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after the end of the delta payload", what);
}

}  // namespace dd
