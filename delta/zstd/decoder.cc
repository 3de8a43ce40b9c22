#include "delta/zstd/tar_delta.h"

#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <future>
#include <thread>

#include "core/interruption.h"
#include "delta/suffix/suffix_delta.h"
#include "delta/zstd/wire.h"

namespace dd {

using namespace tar_delta;

namespace {

// A segment as read from the payload, its table checked; then, on a worker thread, its frame
// decoded and the parts of its output that take work made ahead of time.
struct IncomingSegment {
  std::vector<Piece> pieces;
  std::vector<Op> ops;
  std::vector<std::uint64_t> raw_lengths;  // per operation: its bytes in the frame
  std::uint64_t listed = 0;                // reference bytes the pieces name
  std::uint64_t output_size = 0, residual_size = 0;
  std::string frame;
  // Buffers kept from segment to segment (grown, never shrunk; see grow_to), so their sizes may
  // exceed what this segment uses. The reference is built as the segment is read, so what it
  // holds is known before the segment is let run.
  std::string reference, residual, source;  // source: the base bytes a patch reads
  std::size_t reference_size = 0;
  // Made by rebuild():
  std::vector<std::uint64_t> content_at;  // per operation: where its bytes start in `residual`
  std::vector<std::string> made;          // per gzip or patch operation: its output

  // What rebuilding it holds in memory at most: its reference and frame, the frame's content, and
  // what it makes (no more than its output).
  std::uint64_t footprint() const {
    return reference.size() + frame.size() + residual.size() + source.size() + output_size;
  }
};

// Reads segment records in payload order and checks every bound before anything is allocated:
// the checks that add up over the layer (its declared size, base reads, gzip work) are made
// here, in order, so a payload is refused the same way however its segments are scheduled.
class SegmentReader {
 public:
  SegmentReader(ByteStream& payload, const std::vector<DeltaLayerFile>& bases, std::uint64_t declared_size,
                const std::string& what)
      : payload_(payload), r_{payload, what}, bases_(bases), declared_size_(declared_size), what_(what) {
    char magic[sizeof kMagic];
    r_.exact(magic, sizeof magic);
    if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) fail(Errc::bad_input, "{}: not a zstd delta payload", what);
    version_ = r_.u8();
    if (version_ != kVersion1 && version_ != kVersion2)
      fail(Errc::unsupported, "{}: zstd delta payload version {} is not supported", what, version_);
  }

  // The next segment, or null at the payload's end record.
  std::unique_ptr<IncomingSegment> next() {
    const auto tag = r_.u8();
    if (tag == 'E') return nullptr;
    if (tag != 'S') fail(Errc::bad_input, "{}: damaged delta payload (unknown record)", what_);
    auto s = std::make_unique<IncomingSegment>();
    // Version 2 keeps the segment's table in a zstd frame of its own.
    std::unique_ptr<MemoryStream> table_stream;
    if (version_ == kVersion2) {
      const std::uint64_t table_size = r_.uint(8), table_frame_size = r_.uint(8);
      if (table_size > kMaxSegmentTable) fail(Errc::limit, "{}: a delta segment's table claims {} bytes", what_, table_size);
      if (table_frame_size > ZSTD_compressBound(table_size) + 1024)
        fail(Errc::bad_input, "{}: a delta segment's table frame is larger than its content could need", what_);
      std::string table_frame(table_frame_size, '\0'), table(table_size, '\0');
      r_.exact(table_frame.data(), table_frame.size());
      if (ZSTD_getFrameContentSize(table_frame.data(), table_frame.size()) != table_size)
        fail(Errc::bad_input, "{}: a delta segment's table frame does not match its size", what_);
      const std::size_t n = ZSTD_decompress(table.data(), table.size(), table_frame.data(), table_frame.size());
      if (ZSTD_isError(n) || n != table_size) fail(Errc::bad_input, "{}: damaged delta segment table", what_);
      table_stream = std::make_unique<MemoryStream>(std::move(table));
    }
    PayloadReader t{table_stream ? *table_stream : payload_, what_};
    const std::uint64_t piece_count = t.uint(4);
    if (piece_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} reference pieces", what_, piece_count);
    s->pieces.resize(piece_count);
    for (auto& p : s->pieces) {
      const auto kind = t.u8();
      if (kind > 1) fail(Errc::bad_input, "{}: unknown reference kind {}", what_, kind);
      p.kind = static_cast<PieceKind>(kind);
      p.base = static_cast<std::uint32_t>(t.uint(4));
      p.offset = t.uint(8);
      p.length = t.uint(8);
      check_range(p.base, p.offset, p.length);
      s->listed += p.length;
      if (s->listed > kMaxSegmentReference)
        fail(Errc::limit, "{}: a delta segment's reference exceeds {} bytes", what_, kMaxSegmentReference);
    }
    const std::uint64_t op_count = t.uint(4);
    if (op_count > kMaxPieces) fail(Errc::bad_input, "{}: a delta segment claims {} operations", what_, op_count);
    s->ops.resize(op_count);
    s->raw_lengths.assign(op_count, 0);
    std::size_t segment_gzip_ops = 0, segment_gnu_gzip_ops = 0;
    for (std::size_t i = 0; i < s->ops.size(); ++i) {
      Op& op = s->ops[i];
      const auto kind = t.u8();
      if (kind != 1 && kind != 2 && !(kind == 3 && version_ == kVersion2))
        fail(Errc::bad_input, "{}: unknown delta operation {}", what_, kind);
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
          fail(Errc::limit, "{}: a patch operation makes {} bytes from {}, more than the suffix matcher's window", what_,
               op.length, op.source_length);
        if (op.controls > kMaxSegmentOutput || op.diff > op.length || op.extra > op.length)
          fail(Errc::bad_input, "{}: a patch operation's streams do not fit its size", what_);
        s->raw_lengths[i] = op.controls + op.diff + op.extra;
      } else {
        s->raw_lengths[i] = t.uint(8);
        op.recipe = static_cast<GzipRecipe>(t.u8());
        if (op.recipe != GzipRecipe::zlib_9 && op.recipe != GzipRecipe::gnu_gzip_9)
          fail(Errc::unsupported, "{}: unknown gzip recipe {}", what_, static_cast<int>(op.recipe));
        // Every bound is checked before anything is recompressed: the work follows from them.
        if (!plausible_gzip_sizes(op.length, s->raw_lengths[i]))
          fail(Errc::limit, "{}: a gzip operation claims {} bytes of content for a {}-byte file (at most {} of {})", what_,
               s->raw_lengths[i], op.length, kMaxGzipContent, kMaxGzipMember);
        if (++segment_gzip_ops > kMaxGzipMembersPerSegment)
          fail(Errc::limit, "{}: a delta segment has more than {} gzip operations", what_, kMaxGzipMembersPerSegment);
        segment_gnu_gzip_ops += op.recipe == GzipRecipe::gnu_gzip_9 ? 1 : 0;
        layer_gzip_content_ += s->raw_lengths[i];
        if (layer_gzip_content_ > kMaxGzipContentPerLayer)
          fail(Errc::limit, "{}: the delta asks to recompress more than {} bytes of gzip content", what_,
               kMaxGzipContentPerLayer);
      }
    }
    layer_gzip_runs_ += gzip_runs_for_segment(segment_gnu_gzip_ops);
    if (layer_gzip_runs_ > kMaxGzipRunsPerLayer)
      fail(Errc::limit, "{}: the delta would run gzip more than {} times", what_, kMaxGzipRunsPerLayer);
    s->output_size = t.uint(8);
    s->residual_size = t.uint(8);
    if (table_stream) {
      char extra;
      if (table_stream->read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after a delta segment's table", what_);
    }
    const std::uint64_t frame_size = r_.uint(8);
    if (s->output_size == 0) fail(Errc::bad_input, "{}: a delta segment makes no bytes", what_);
    if (s->output_size > declared_size_ - claimed_)
      fail(Errc::bad_input, "{}: a delta segment claims {} bytes, more than the layer's declared size allows", what_,
           s->output_size);
    if (s->residual_size > kMaxSegmentOutput)
      fail(Errc::bad_input, "{}: a delta segment claims {} bytes of frame", what_, s->residual_size);
    if (frame_size > ZSTD_compressBound(s->residual_size) + 1024)
      fail(Errc::bad_input, "{}: a delta segment's frame is larger than its content could need", what_);
    // The operations must tile the segment in order, and the literal gaps and decompressed
    // contents must add up to exactly what the frame holds.
    std::uint64_t pos = 0, expected_residual = 0;
    for (std::size_t i = 0; i < s->ops.size(); ++i) {
      const Op& op = s->ops[i];
      if (op.at < pos || op.at > s->output_size || op.length > s->output_size - op.at)
        fail(Errc::bad_input, "{}: delta operations overlap or leave their segment", what_);
      expected_residual += (op.at - pos) + s->raw_lengths[i];
      pos = op.at + op.length;
    }
    expected_residual += s->output_size - pos;
    if (expected_residual != s->residual_size) fail(Errc::bad_input, "{}: a delta segment's parts do not add up", what_);

    for (const Piece& p : s->pieces) count_read(p.length);
    for (const Op& op : s->ops)
      count_read(op.kind == OpKind::copy ? op.length : op.kind == OpKind::patch ? op.source_length : 0);
    s->frame.resize(frame_size);
    r_.exact(s->frame.data(), s->frame.size());
    if (ZSTD_getFrameContentSize(s->frame.data(), s->frame.size()) != s->residual_size)
      fail(Errc::bad_input, "{}: a delta frame's size does not match its record", what_);
    claimed_ += s->output_size;
    return s;
  }

  // After the end record: the segments must have made the whole layer, and nothing may follow.
  void finish() {
    if (claimed_ != declared_size_)
      fail(Errc::bad_input, "{}: the delta rebuilt {} bytes, but the layer has {}", what_, claimed_, declared_size_);
    char extra;
    if (payload_.read(&extra, 1) != 0) fail(Errc::bad_input, "{}: bytes after the end of the delta payload", what_);
  }

 private:
  void check_range(std::uint32_t base, std::uint64_t offset, std::uint64_t length) const {
    if (base >= bases_.size())
      fail(Errc::bad_input, "{}: the delta names base layer #{}, but only {} are listed", what_, base, bases_.size());
    const std::uint64_t size = bases_[base].size;
    if (offset > size || length > size - offset)
      fail(Errc::bad_input, "{}: the delta references bytes {}..{} of base layer {}, which has only {}", what_, offset,
           offset + length, bases_[base].diff_id.short_str(), size);
  }
  // Every byte read from a base (references, copies, patch sources) counts against a budget: a
  // payload of many small segments cannot make the decoder read the bases over and over.
  void count_read(std::uint64_t n) {
    const std::uint64_t budget = 16 * declared_size_ + (1ull << 30);
    base_reads_ += n;
    if (base_reads_ > budget)
      fail(Errc::limit, "{}: the delta reads more than {} bytes of its base layers for a {}-byte layer", what_, budget,
           declared_size_);
  }

  ByteStream& payload_;
  PayloadReader r_;
  const std::vector<DeltaLayerFile>& bases_;
  std::uint64_t declared_size_;
  const std::string& what_;
  std::uint8_t version_ = 0;
  std::uint64_t claimed_ = 0, base_reads_ = 0, layer_gzip_content_ = 0;
  std::size_t layer_gzip_runs_ = 0;
};

// Decodes the segment's frame against its reference and makes its gzip files and patched files.
// The slow part of a segment, and independent of every other segment.
void rebuild(IncomingSegment& s, const std::vector<DeltaLayerFile>& bases, const std::string& what) {
  const std::size_t reference_size = s.reference_size;
  // The window a frame may ask for is bounded by what it can legitimately reach: its reference
  // and its content (the encoder sizes it so). Checked here, as one-shot decoding ignores
  // ZSTD_d_windowLogMax.
  const unsigned window_log_max = window_log_for(reference_size + s.residual_size);
  ZSTD_frameHeader frame_header{};
  if (ZSTD_getFrameHeader(&frame_header, s.frame.data(), s.frame.size()) != 0 || frame_header.frameType != ZSTD_frame)
    fail(Errc::bad_input, "{}: a delta segment does not hold a zstd frame", what);
  if (frame_header.windowSize > (1ull << window_log_max))
    fail(Errc::limit, "{}: a delta frame asks for a {}-byte zstd window, more than its {}-byte reference and content need",
         what, frame_header.windowSize, reference_size + s.residual_size);
  ZstdDCtx dctx;
  check_zstd(ZSTD_DCtx_setParameter(dctx.d, ZSTD_d_windowLogMax, static_cast<int>(window_log_max)), "window");
  if (reference_size) check_zstd(ZSTD_DCtx_refPrefix(dctx.d, s.reference.data(), reference_size), "prefix");
  const std::size_t n = ZSTD_decompressDCtx(dctx.d, s.residual.data(), s.residual_size, s.frame.data(), s.frame.size());
  if (ZSTD_isError(n)) fail(Errc::bad_input, "{}: damaged delta frame: {}", what, ZSTD_getErrorName(n));
  if (n != s.residual_size) fail(Errc::bad_input, "{}: a delta frame decoded to {} bytes, not {}", what, n, s.residual_size);
  std::string().swap(s.frame);

  const std::vector<Op>& ops = s.ops;
  s.content_at.assign(ops.size(), 0);
  for (std::uint64_t i = 0, at = 0, prev = 0; i < ops.size(); ++i) {
    at += ops[i].at - prev;
    s.content_at[i] = at;
    at += s.raw_lengths[i];
    prev = ops[i].at + ops[i].length;
  }
  // The gzip files, in two halves on two threads (gzip -9 is the slow part of a segment), each
  // half one batch per recipe. The halves are balanced by content size, biggest file first, and
  // each takes at most half of the gnu gzip files, rounded up for the first: the gzip runs the
  // reader counted for the segment.
  std::vector<int> half_of(ops.size(), -1);
  {
    std::vector<std::size_t> order;
    std::size_t gnu_files = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind != OpKind::gzip) continue;
      order.push_back(i);
      gnu_files += ops[i].recipe == GzipRecipe::gnu_gzip_9 ? 1 : 0;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return s.raw_lengths[a] > s.raw_lengths[b]; });
    const std::size_t gnu_quota[2] = {(gnu_files + 1) / 2, gnu_files / 2};
    std::size_t gnu_taken[2] = {0, 0};
    std::uint64_t load[2] = {0, 0};
    for (const std::size_t i : order) {
      int h = load[1] < load[0] ? 1 : 0;
      if (ops[i].recipe == GzipRecipe::gnu_gzip_9) {
        if (gnu_taken[h] == gnu_quota[h]) h = 1 - h;
        ++gnu_taken[h];
      }
      half_of[i] = h;
      load[h] += s.raw_lengths[i];
    }
  }
  auto recompress = [&](int half) {
    for (const GzipRecipe recipe : {GzipRecipe::zlib_9, GzipRecipe::gnu_gzip_9}) {
      std::vector<std::size_t> index;
      std::vector<std::string_view> raws;
      std::vector<std::uint64_t> expected;
      for (std::size_t i = 0; i < ops.size(); ++i) {
        if (half_of[i] != half || ops[i].recipe != recipe) continue;
        index.push_back(i);
        raws.emplace_back(s.residual.data() + s.content_at[i], s.raw_lengths[i]);
        expected.push_back(ops[i].length);
      }
      if (index.empty()) continue;
      auto made = regzip_many(recipe, raws, expected);
      for (std::size_t k = 0; k < index.size(); ++k) s.made[index[k]] = std::move(made[k]);
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
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind != OpKind::patch) continue;
    bases[op.base].read(op.offset, op.source_length, s.source.data(), "base layer");
    const char* streams = s.residual.data() + s.content_at[i];
    suffix::apply({streams, op.controls}, {streams + op.controls, op.diff}, {streams + op.controls + op.diff, op.extra},
                  {s.source.data(), op.source_length}, op.length, s.made[i].data(), what);
  }
}

// Hands on the segment's output in order: literal bytes from the frame, copies from the bases,
// and what rebuild() made.
template <typename Out>
void emit(const IncomingSegment& s, const std::vector<DeltaLayerFile>& bases, std::vector<char>& copy_buffer, Out& out) {
  std::uint64_t rpos = 0, pos = 0;
  auto literal = [&](std::uint64_t to) {
    out(s.residual.data() + rpos, to - pos);
    rpos += to - pos;
  };
  for (std::size_t i = 0; i < s.ops.size(); ++i) {
    const Op& op = s.ops[i];
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
      out(s.made[i].data(), s.made[i].size());
      rpos += s.raw_lengths[i];
    }
    pos = op.at + op.length;
  }
  literal(s.output_size);
}

// Segments rebuilt at once: the machine's cores, at least two (one segment's gzip files can keep
// a core busy while the next one decodes) and at most four.
unsigned segments_in_flight() { return std::clamp(std::thread::hardware_concurrency(), 2u, 4u); }
// ... while what they hold stays under this budget, shared by every layer the process decodes at
// once; a decoder with nothing in flight always runs one segment.
// Segments as the encoder cuts them (16 MiB of output) hold ~50-80 MiB each, so two run at once;
// the most a hostile payload can make one hold is kMaxSegmentReference + 3 x kMaxSegmentOutput +
// kMaxSuffixSource,
// and so the most a decoder holds is this budget plus that.
constexpr std::uint64_t kInFlightBudget = 160u << 20;
std::atomic<std::uint64_t> segment_bytes_held{0};

}  // namespace

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
  SegmentReader reader(payload, bases, declared_size, what);
  // Segments are read in order, rebuilt on worker threads a few at a time, and handed on in
  // order as each is ready.
  struct InFlight {
    std::unique_ptr<IncomingSegment> segment;
    std::uint64_t footprint = 0;
    std::future<void> rebuilt;
  };
  std::deque<InFlight> in_flight;
  std::vector<char> copy_buffer;
  // The buffers of segments handed on, for the next ones to take.
  std::vector<std::string> spare;
  auto take_spare = [&] {
    std::string b;
    if (!spare.empty()) {
      b = std::move(spare.back());
      spare.pop_back();
    }
    return b;
  };
  bool reading = false;
  auto hand_on_oldest = [&] {
    InFlight& f = in_flight.front();
    f.rebuilt.get();
    emit(*f.segment, bases, copy_buffer, out);
    segment_bytes_held -= f.footprint;
    spare.push_back(std::move(f.segment->reference));
    spare.push_back(std::move(f.segment->residual));
    spare.push_back(std::move(f.segment->source));
    in_flight.pop_front();
  };
  try {
    for (;;) {
      reading = true;
      throw_if_interrupted();
      std::unique_ptr<IncomingSegment> s = reader.next();
      if (!s) break;
      reading = false;
      // Room first, by what the table says: buffers are allocated only once the segment may run
      // (a gunzip piece may expand past the estimate; what it really holds is counted once built).
      std::uint64_t source_size = 0;
      for (const Op& op : s->ops)
        if (op.kind == OpKind::patch) source_size = std::max(source_size, op.source_length);
      const std::uint64_t estimate = s->listed + s->frame.size() + s->residual_size + source_size + s->output_size;
      while (!in_flight.empty() &&
             (in_flight.size() >= segments_in_flight() || segment_bytes_held + estimate > kInFlightBudget))
        hand_on_oldest();
      reading = true;
      s->reference = take_spare();
      s->reference_size = build_reference(s->pieces, bases, s->reference, what);
      s->residual = take_spare();
      grow_to(s->residual, s->residual_size);
      // What the worker fills is allocated here, where its size is counted: memory freed by
      // short-lived worker threads would stay in their malloc arenas.
      s->made.assign(s->ops.size(), {});
      for (std::size_t i = 0; i < s->ops.size(); ++i)
        if (s->ops[i].kind == OpKind::patch) s->made[i].resize(s->ops[i].length);
      s->source = take_spare();
      grow_to(s->source, source_size);
      reading = false;
      const std::uint64_t footprint = s->footprint();
      segment_bytes_held += footprint;
      IncomingSegment& segment = *s;
      in_flight.push_back({std::move(s), footprint, std::async(std::launch::async, [&segment, &bases, &what] {
                             rebuild(segment, bases, what);
                           })});
    }
    while (!in_flight.empty()) hand_on_oldest();
  } catch (...) {
    // A damaged record found while earlier segments were still being rebuilt: their failure, if
    // any, comes first, as the layer goes wrong there first. Otherwise the workers are only
    // waited for.
    std::exception_ptr failure = std::current_exception();
    for (InFlight& f : in_flight) {
      segment_bytes_held -= f.footprint;
      if (!f.rebuilt.valid()) continue;  // the one that failed, or was being handed on
      try {
        f.rebuilt.get();
      } catch (...) {
        if (reading) failure = std::current_exception();
        reading = false;
      }
    }
    std::rethrow_exception(failure);
  }
  reader.finish();
  if (!pending.empty()) sink(pending.data(), pending.size());
}

}  // namespace dd
