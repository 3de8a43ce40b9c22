#include "delta/zstd/tar_delta.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "core/interruption.h"
#include "delta/base_catalogue.h"
#include "delta/suffix/suffix_delta.h"
#include "delta/zstd/planner.h"
#include "delta/zstd/wire.h"

namespace dd {

using namespace tar_delta;

namespace {

// Patches are chosen by compressing both candidates at this level: a fraction of the final
// frame's cost, and it ranks them the same way on the pairs in bench/.
constexpr int kTrialLevel = 3;

// Text files (no NUL in their first 8 KiB) stay in the frame: there the old file as zstd prefix,
// with the other files of the segment around it, beats a patch (measured on the webapp pair: the
// npm layer 89 KiB as frame, 95 KiB with patches chosen by trial); binaries, whose addresses
// shift, are where the suffix matcher wins (the Debian layers: 3.2 MiB as frame, 2.1 with patches).
bool looks_binary(std::string_view bytes) {
  return bytes.substr(0, 8192).find('\0') != std::string_view::npos;
}

// `scratch` is kept between calls: fresh buffers this size cost more in page faults than the
// compression itself for small files.
std::size_t compressed_size(ZSTD_CCtx* cctx, int level, std::string_view prefix, std::string_view content,
                            std::unique_ptr<char[]>& scratch, std::size_t& scratch_size) {
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  check_zstd(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level), "level");
  check_zstd(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, static_cast<int>(window_log_for(prefix.size() + content.size()))), "window");
  if (!prefix.empty()) check_zstd(ZSTD_CCtx_refPrefix(cctx, prefix.data(), prefix.size()), "prefix");
  const std::size_t bound = ZSTD_compressBound(content.size());
  if (scratch_size < bound) {
    scratch.reset(new char[bound]);
    scratch_size = bound;
  }
  const std::size_t n = ZSTD_compress2(cctx, scratch.get(), bound, content.data(), content.size());
  check_zstd(n, "compress");
  return n;
}

// Makes each candidate patch of a segment and keeps it where `suffix` says so; the others are
// dropped and their bytes stay in the frame. Any number of threads may call work() at once, each
// taking the next candidate, biggest first (a big file taken last would leave the other threads
// idle while it is matched). Memory: per thread one suffix-matcher window (at most
// 6x kMaxSuffixSource).
class PatchJob {
 public:
  PatchJob(Segment& s, const DeltaLayerFile& layer, const std::vector<const DeltaLayerFile*>& bases, SuffixUse suffix,
           const std::string& what)
      : s_(s), layer_(layer), bases_(bases), suffix_(suffix), what_(what), keep_(s.ops.size(), 1) {
    for (std::size_t i = 0; i < s.ops.size(); ++i)
      if (s.ops[i].kind == OpKind::patch) candidates_.push_back(i);
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [&](std::size_t a, std::size_t b) { return s.ops[a].length > s.ops[b].length; });
  }

  void work() {
    ZstdCCtx cctx;
    std::string target, source;
    std::unique_ptr<char[]> scratch;
    std::size_t scratch_size = 0;
    try {
      for (std::size_t k; (k = next_++) < candidates_.size();) {
        throw_if_interrupted();
        Op& op = s_.ops[candidates_[k]];
        keep_[candidates_[k]] = 0;
        target.resize(op.length);
        layer_.read(op.at, op.length, target.data(), what_);
        if (suffix_ == SuffixUse::when_smaller && !looks_binary(target)) continue;
        source.resize(op.source_length);
        bases_[op.base]->read(op.offset, op.source_length, source.data(), "base layer");
        // Against its old version, a file that compresses to under 1/64 of its size leaves a
        // patch little to win, for far more time: the matcher sorts the whole old file.
        std::size_t as_frame = 0;
        if (suffix_ == SuffixUse::when_smaller) {
          as_frame = compressed_size(cctx.c, kTrialLevel, source, target, scratch, scratch_size);
          if (as_frame <= op.length / 64) continue;
        }
        auto patch = suffix::encode(source, target);
        if (!patch) continue;
        std::string streams = std::move(patch->controls);
        op.controls = streams.size();
        op.diff = patch->diff.size();
        op.extra = patch->extra.size();
        streams += patch->diff;
        streams += patch->extra;
        if (suffix_ == SuffixUse::when_smaller &&
            compressed_size(cctx.c, kTrialLevel, {}, streams, scratch, scratch_size) >= as_frame)
          continue;
        op.raw = std::move(streams);
        keep_[candidates_[k]] = 1;
      }
    } catch (...) {
      const std::lock_guard lock(failure_lock_);
      if (!failure_) failure_ = std::current_exception();
      next_ = candidates_.size();
    }
  }

  // Once every work() has returned: drops the patches not kept and returns the new bytes that
  // travel as patches.
  std::uint64_t finish() {
    if (failure_) std::rethrow_exception(failure_);
    if (candidates_.empty()) return 0;
    std::uint64_t patched = 0;
    std::vector<Op> kept;
    kept.reserve(s_.ops.size());
    for (std::size_t i = 0; i < s_.ops.size(); ++i) {
      if (!keep_[i]) continue;
      if (s_.ops[i].kind == OpKind::patch) patched += s_.ops[i].length;
      kept.push_back(std::move(s_.ops[i]));
    }
    s_.ops = std::move(kept);
    return patched;
  }

  std::size_t candidates() const { return candidates_.size(); }

 private:
  Segment& s_;
  const DeltaLayerFile& layer_;
  const std::vector<const DeltaLayerFile*>& bases_;
  SuffixUse suffix_;
  const std::string& what_;
  std::vector<std::size_t> candidates_;
  std::vector<char> keep_;
  std::atomic<std::size_t> next_{0};
  std::mutex failure_lock_;
  std::exception_ptr failure_;
};

void put_table(std::string& rec, const Segment& s, std::uint64_t content_size) {
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
    } else if (op.kind == OpKind::gzip) {
      put_u64(rec, op.raw.size());
      put_u8(rec, static_cast<std::uint8_t>(op.recipe));
    } else {
      put_u32(rec, op.base);
      put_u64(rec, op.offset);
      put_u64(rec, op.source_length);
      put_u64(rec, op.controls);
      put_u64(rec, op.diff);
      put_u64(rec, op.extra);
    }
  }
  put_u64(rec, s.end - s.begin);
  put_u64(rec, content_size);
}

// Writes segments' records and frames (version 2). Its buffers and zstd context are kept from
// one segment to the next: each is tens of MiB, and a fresh one costs page faults.
class SegmentWriter {
 public:
  // Writes `s` (its patches already chosen) to `out` and frees what it held.
  void write(Segment& s, const DeltaLayerFile& layer, const std::vector<const DeltaLayerFile*>& bases,
             const DeltaSettings& settings, const std::function<void(const char*, std::size_t)>& out,
             const std::string& what) {
    const std::size_t reference_size = build_reference(s.pieces, bases, reference_, "base layer");
    std::size_t residual_size = 0;
    auto append = [&](const char* p, std::size_t n) {
      grow_to(residual_, residual_size + n);
      std::memcpy(residual_.data() + residual_size, p, n);
      residual_size += n;
    };
    std::uint64_t pos = s.begin;
    auto literal = [&](std::uint64_t to) {
      if (to <= pos) return;
      grow_to(residual_, residual_size + (to - pos));
      layer.read(pos, to - pos, residual_.data() + residual_size, what);
      residual_size += to - pos;
    };
    for (const Op& op : s.ops) {
      literal(op.at);
      if (op.kind != OpKind::copy) append(op.raw.data(), op.raw.size());
      pos = op.at + op.length;
    }
    literal(s.end);
    grow_to(frame_, ZSTD_compressBound(residual_size));
    ZSTD_CCtx_reset(cctx_.c, ZSTD_reset_session_and_parameters);
    check_zstd(ZSTD_CCtx_setParameter(cctx_.c, ZSTD_c_compressionLevel, settings.level), "level");
    check_zstd(ZSTD_CCtx_setParameter(cctx_.c, ZSTD_c_windowLog, static_cast<int>(window_log_for(reference_size + residual_size))), "window");
    // Long-distance matching finds the old file a few MiB back even at fast levels.
    check_zstd(ZSTD_CCtx_setParameter(cctx_.c, ZSTD_c_enableLongDistanceMatching, 1), "ldm");
    check_zstd(ZSTD_CCtx_setParameter(cctx_.c, ZSTD_c_contentSizeFlag, 1), "content size");
    if (reference_size) check_zstd(ZSTD_CCtx_refPrefix(cctx_.c, reference_.data(), reference_size), "prefix");
    const std::size_t n = ZSTD_compress2(cctx_.c, frame_.data(), frame_.size(), residual_.data(), residual_size);
    check_zstd(n, "compress");

    // The table compresses well (offsets that climb, bases that repeat): thousands of small files
    // make a table bigger than their changes.
    table_.clear();
    put_table(table_, s, residual_size);
    table_frame_.resize(ZSTD_compressBound(table_.size()));
    const std::size_t t = ZSTD_compress(table_frame_.data(), table_frame_.size(), table_.data(), table_.size(), 19);
    check_zstd(t, "compress");
    std::string head;
    put_u8(head, 'S');
    put_u64(head, table_.size());
    put_u64(head, t);
    out(head.data(), head.size());
    out(table_frame_.data(), t);
    head.clear();
    put_u64(head, n);
    out(head.data(), head.size());
    out(frame_.data(), n);
    s = Segment{};  // frees the decompressed contents and patches it held
  }

 private:
  ZstdCCtx cctx_;
  std::string reference_, residual_, frame_, table_, table_frame_;
};

}  // namespace

TarDeltaEncoder::TarDeltaEncoder(std::vector<DeltaLayerFile> bases, const Limits& limits, SuffixUse suffix)
    : bases_(std::move(bases)), limits_(limits), suffix_(suffix), catalogue_(std::make_unique<BaseCatalogue>(bases_)) {}

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
  std::vector<Segment> segments =
      plan_segments(layer, bases_, match, settings.segment_bytes, suffix_ != SuffixUse::never, settings.jobs, stats, what);

  // 3. Number the bases the payload uses, in order of first use.
  std::vector<std::uint32_t> renumber(bases_.size(), UINT32_MAX);
  Result result;
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
      if (op.kind != OpKind::gzip) number(op.base);
  }
  std::vector<const DeltaLayerFile*> used(result.bases.size());
  for (std::size_t b = 0; b < bases_.size(); ++b)
    if (renumber[b] != UINT32_MAX) used[renumber[b]] = &bases_[b];

  // 4. Encode the segments in order, two stages deep: while segment i's frame is compressed here,
  //    the patches of segment i + 1 are made on the other `jobs` - 1 threads; this thread joins
  //    them once the frame is written (a segment with one big binary would otherwise keep one
  //    core busy and the other waiting). Memory stays about two segments' worth: one frame's
  //    reference, content and zstd context, and one segment's suffix-matcher windows (one per
  //    thread) and patches. With one job, one stage at a time.
  std::string head(kMagic, sizeof kMagic);
  put_u8(head, kVersion2);
  out(head.data(), head.size());
  const unsigned jobs = std::max(1u, settings.jobs);
  auto start_patches = [&](std::size_t i, unsigned threads) {
    auto job = std::make_unique<PatchJob>(segments[i], layer, used, suffix_, what);
    std::vector<std::jthread> helpers;
    if (suffix_ != SuffixUse::never)
      for (unsigned t = 0; t < std::min<std::size_t>(threads, job->candidates()); ++t)
        helpers.emplace_back([j = job.get()] { j->work(); });
    return std::pair{std::move(job), std::move(helpers)};
  };
  auto finish_patches = [&](std::pair<std::unique_ptr<PatchJob>, std::vector<std::jthread>>& p) {
    if (suffix_ != SuffixUse::never) p.first->work();
    for (auto& t : p.second) t.join();
    return p.first->finish();
  };
  SegmentWriter writer;
  std::pair<std::unique_ptr<PatchJob>, std::vector<std::jthread>> next;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    throw_if_interrupted();
    if (!next.first) next = start_patches(i, jobs - 1);
    stats.patch_bytes += finish_patches(next);
    next = {};
    if (jobs > 1 && i + 1 < segments.size()) next = start_patches(i + 1, jobs - 1);
    writer.write(segments[i], layer, used, settings, out, what);
  }
  const char end = 'E';
  out(&end, 1);
  result.stats = stats;
  return result;
}

}  // namespace dd
