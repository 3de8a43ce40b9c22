#include "delta/zstd/tar_delta.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
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

// What a thread keeps from one candidate patch to the next.
struct PatchWorker {
  ZstdCCtx cctx;
  std::string target, source;
  std::unique_ptr<char[]> scratch;
  std::size_t scratch_size = 0;
};

// The candidate patches of one segment: each is made, and kept where `suffix` says so; the others
// are dropped and their bytes stay in the frame. Candidates are handed out biggest first (a big
// file taken last would leave the other threads idle while it is matched); take() and done() are
// called under the caller's lock, make() outside it, for different candidates at once.
class PatchJob {
 public:
  PatchJob(Segment& s, const DeltaLayerFile& layer, const std::vector<const DeltaLayerFile*>& bases, SuffixUse suffix,
           const std::string& what)
      : s_(s), layer_(layer), bases_(bases), suffix_(suffix), what_(what), keep_(s.ops.size(), 1) {
    if (suffix == SuffixUse::never) return;
    for (std::size_t i = 0; i < s.ops.size(); ++i)
      if (s.ops[i].kind == OpKind::patch) candidates_.push_back(i);
    std::stable_sort(candidates_.begin(), candidates_.end(),
                     [&](std::size_t a, std::size_t b) { return s.ops[a].length > s.ops[b].length; });
  }

  bool has_next() const { return !failure_ && taken_ < candidates_.size(); }
  // The old bytes candidate `k` is matched against (its suffix array is 4x that).
  std::uint64_t source_length(std::size_t k) const { return s_.ops[candidates_[k]].source_length; }
  std::size_t take() { return taken_++; }
  // Every candidate taken has been made (or the job failed and takes no more).
  bool complete() const { return !has_next() && done_ == taken_; }
  void done(std::exception_ptr failure) {
    ++done_;
    if (failure && !failure_) failure_ = failure;
  }

  // Makes candidate `k`; what it throws is for done().
  void make(std::size_t k, PatchWorker& w) {
    throw_if_interrupted();
    Op& op = s_.ops[candidates_[k]];
    keep_[candidates_[k]] = 0;
    w.target.resize(op.length);
    layer_.read(op.at, op.length, w.target.data(), what_);
    if (suffix_ == SuffixUse::when_smaller && !looks_binary(w.target)) return;
    w.source.resize(op.source_length);
    bases_[op.base]->read(op.offset, op.source_length, w.source.data(), "base layer");
    // Against its old version, a file that compresses to under 1/64 of its size leaves a patch
    // little to win, for far more time: the matcher sorts the whole old file.
    std::size_t as_frame = 0;
    if (suffix_ == SuffixUse::when_smaller) {
      as_frame = compressed_size(w.cctx.c, kTrialLevel, w.source, w.target, w.scratch, w.scratch_size);
      if (as_frame <= op.length / 64) return;
    }
    auto patch = suffix::encode(w.source, w.target);
    if (!patch) return;
    op.controls = patch->controls.size();
    op.diff = patch->diff.size();
    op.extra = patch->extra.size();
    // One allocation of the exact size, and the three streams freed before the trial: a window's
    // patch is up to twice its new bytes.
    std::string streams;
    streams.reserve(op.controls + op.diff + op.extra);
    streams += patch->controls;
    streams += patch->diff;
    streams += patch->extra;
    patch.reset();
    if (suffix_ == SuffixUse::when_smaller &&
        compressed_size(w.cctx.c, kTrialLevel, {}, streams, w.scratch, w.scratch_size) >= as_frame)
      return;
    op.raw = std::move(streams);
    keep_[candidates_[k]] = 1;
  }

  // Once complete: drops the patches not kept and returns the new bytes that travel as patches.
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

 private:
  Segment& s_;
  const DeltaLayerFile& layer_;
  const std::vector<const DeltaLayerFile*>& bases_;
  SuffixUse suffix_;
  const std::string& what_;
  std::vector<std::size_t> candidates_;
  std::vector<char> keep_;
  std::size_t taken_ = 0, done_ = 0;
  std::exception_ptr failure_;
};

// Makes the segments' patches ahead of the frames: `helpers` threads work on the segments after
// the one being written, at most kLookahead ahead; the writing thread joins in for the segment it
// needs next. So a segment with one big binary keeps every core busy, not one. Memory: one
// suffix-matcher window per thread (at most 6x kMaxSuffixSource) and the patches of the
// segments ahead.
class PatchPipeline {
 public:
  static constexpr std::size_t kLookahead = 2;
  static constexpr std::uint64_t kBigWindow = 4u << 20;

  PatchPipeline(std::vector<Segment>& segments, std::function<std::unique_ptr<PatchJob>(Segment&)> make_job,
                unsigned helpers)
      : segments_(segments), make_job_(std::move(make_job)) {
    for (unsigned t = 0; t < helpers; ++t) threads_.emplace_back([this] { help(); });
  }
  ~PatchPipeline() {
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    threads_.clear();  // joins
  }

  // The patches of segment `i` (asked for in order), made; returns the bytes they cover. Before
  // this thread takes a candidate with a big window it calls `make_room` (which frees the frame's
  // buffers): two matcher windows and a frame's buffers at once would pass the memory bound.
  std::uint64_t patches_of(std::size_t i, const std::function<void()>& make_room) {
    std::unique_lock lock(mutex_);
    while (made_ < std::min(segments_.size(), i + 1 + kLookahead)) jobs_.push_back(make_job_(segments_[made_++]));
    changed_.notify_all();
    PatchJob& job = *jobs_.front();
    while (job.has_next()) {
      const std::size_t k = job.take();
      if (job.source_length(k) > kBigWindow) make_room();
      run(job, k, own_, lock);
    }
    changed_.wait(lock, [&] { return job.complete(); });
    std::unique_ptr<PatchJob> finished = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    // This thread compresses the frame next: its matcher's buffers (its suffix array, the old
    // and new bytes: ~100 MiB at most) go first.
    std::string().swap(own_.target);
    std::string().swap(own_.source);
    own_.scratch.reset();
    own_.scratch_size = 0;
    suffix::release_thread_buffers();
    return finished->finish();
  }

 private:
  // Makes candidate `k` of `job` outside the lock.
  void run(PatchJob& job, std::size_t k, PatchWorker& w, std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    std::exception_ptr failure;
    try {
      job.make(k, w);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    job.done(failure);
    changed_.notify_all();
  }

  void help() {
    PatchWorker w;
    std::unique_lock lock(mutex_);
    for (;;) {
      PatchJob* job = nullptr;
      changed_.wait(lock, [&] {
        for (auto& j : jobs_)
          if (j->has_next()) {
            job = j.get();
            break;
          }
        return stop_ || job != nullptr;
      });
      if (stop_) return;
      run(*job, job->take(), w, lock);
    }
  }

  std::vector<Segment>& segments_;
  std::function<std::unique_ptr<PatchJob>(Segment&)> make_job_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::unique_ptr<PatchJob>> jobs_;  // the segments from the next one asked for on
  std::size_t made_ = 0;
  bool stop_ = false;
  PatchWorker own_;
  std::vector<std::jthread> threads_;  // last: joined before the rest goes
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
  // Frees the buffers kept for the next segment.
  void release() {
    for (std::string* b : {&reference_, &residual_, &frame_, &table_, &table_frame_}) std::string().swap(*b);
  }

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

  // 4. Encode the segments in order; their patches are made ahead on the other `jobs` - 1
  //    threads (PatchPipeline), and this thread joins in for each segment before writing its
  //    frame. Memory: one frame's reference, content and zstd context, one suffix-matcher window
  //    per thread, and the patches of a few segments.
  std::string head(kMagic, sizeof kMagic);
  put_u8(head, kVersion2);
  out(head.data(), head.size());
  const unsigned jobs = std::max(1u, settings.jobs);
  PatchPipeline patches(
      segments, [&](Segment& s) { return std::make_unique<PatchJob>(s, layer, used, suffix_, what); },
      suffix_ == SuffixUse::never ? 0 : jobs - 1);
  SegmentWriter writer;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    throw_if_interrupted();
    stats.patch_bytes += patches.patches_of(i, [&] { writer.release(); });
    writer.write(segments[i], layer, used, settings, out, what);
  }
  const char end = 'E';
  out(&end, 1);
  result.stats = stats;
  return result;
}

}  // namespace dd
