#include "delta/suffix/suffix_delta.h"

#include <divsufsort.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"

namespace dd::suffix {
namespace {

using i64 = std::int64_t;

// Matches longer than this are cut: it bounds each comparison, and a match this long is taken
// whole anyway (the scan then jumps past it).
constexpr i64 kMaxMatch = 1 << 16;
// Byte comparisons allowed per new byte (plus a floor); typical inputs use a few dozen. Past it
// the input is pathological for this search (long near-repeats) and another codec is cheaper.
constexpr i64 kWorkPerByte = 600;
constexpr i64 kWorkFloor = 32 << 20;

// Old files at least this big get a table of where each two-byte prefix starts in the suffix
// array: the binary search then starts in the right bucket, which saves about 16 of its ~24 steps
// (each a likely cache miss). Smaller ones are searched whole: the table costs more than it saves.
constexpr i64 kBucketFloor = 1 << 16;

struct Searcher {
  const unsigned char* old;
  i64 old_size;
  const saidx_t* sa;
  // bucket[2p] .. bucket[2p + 1] - 1: the suffixes of two bytes or more that start with the pair
  // p = (b0 << 8) | b1; empty when the old file is small.
  const std::vector<saidx_t>& bucket;
  i64 work = 0;

  // The common prefix of old[at..] and s[0, n), from `known` bytes already known to agree.
  i64 match_length(i64 at, const unsigned char* s, i64 n, i64 known) {
    const i64 limit = std::min({old_size - at, n, kMaxMatch});
    i64 i = std::min(known, limit);
    const i64 from = i;
    while (i < limit && old[at + i] == s[i]) ++i;
    work += i - from + 1;
    return i;
  }
  // The longest match of s[0, n) among the old suffixes: a binary search on the suffix array
  // that skips the prefix both ends of the range share with s (every suffix between them has it).
  i64 longest(const unsigned char* s, i64 n, i64& pos) {
    i64 st = 0, en = old_size - 1;
    if (!bucket.empty() && n >= 2) {
      const std::size_t p = (std::size_t{s[0]} << 8) | s[1];
      // No old suffix starts with these two bytes: no match is longer than one byte, and one
      // byte never starts a match the scan takes.
      if (bucket[2 * p] == bucket[2 * p + 1]) {
        pos = 0;
        return 0;
      }
      st = bucket[2 * p];
      en = bucket[2 * p + 1] - 1;
    }
    i64 st_match = match_length(sa[st], s, n, 0), en_match = match_length(sa[en], s, n, 0);
    while (en - st >= 2) {
      const i64 x = st + (en - st) / 2;
      const i64 l = match_length(sa[x], s, n, std::min(st_match, en_match));
      const i64 suffix = old_size - sa[x];
      // Lexicographic order: a suffix that ends inside s is smaller than s.
      const bool less = l < std::min({suffix, n, kMaxMatch}) ? old[sa[x] + l] < s[l] : (l == suffix && suffix < n && l < kMaxMatch);
      if (less) {
        st = x;
        st_match = l;
      } else {
        en = x;
        en_match = l;
      }
    }
    if (st_match >= en_match) {
      pos = sa[st];
      return st_match;
    }
    pos = sa[en];
    return en_match;
  }
};

void put_varint(std::string& s, std::uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}
std::uint64_t zigzag(i64 v) { return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63); }

// Kept per thread and only grown (to 4 x kMaxSuffixSource at most): a fresh array for every
// small file costs more in page faults than sorting it. Not zero-filled: divsufsort writes every
// entry.
thread_local std::unique_ptr<saidx_t[]> thread_sa;
thread_local std::size_t thread_sa_size = 0;
thread_local std::vector<saidx_t> thread_bucket;

}  // namespace

void release_thread_buffers() {
  thread_sa.reset();
  thread_sa_size = 0;
  std::vector<saidx_t>().swap(thread_bucket);
}

std::optional<Patch> encode(std::string_view source, std::string_view target) {
  if (source.size() > kMaxSuffixSource || target.size() > kMaxSuffixTarget)
    fail(Errc::internal, "suffix matcher: window of {} old and {} new bytes is too large", source.size(), target.size());
  const auto* old = reinterpret_cast<const unsigned char*>(source.data());
  const auto* nw = reinterpret_cast<const unsigned char*>(target.data());
  const i64 old_size = static_cast<i64>(source.size()), new_size = static_cast<i64>(target.size());
  Patch patch;
  patch.diff.reserve(target.size());
  auto emit = [&](i64 add_from_new, i64 add_from_old, i64 add, i64 copy_from, i64 copy, i64 seek) {
    put_varint(patch.controls, static_cast<std::uint64_t>(add));
    put_varint(patch.controls, static_cast<std::uint64_t>(copy));
    put_varint(patch.controls, zigzag(seek));
    const std::size_t at = patch.diff.size();
    patch.diff.resize(at + static_cast<std::size_t>(add));
    char* d = patch.diff.data() + at;
    for (i64 i = 0; i < add; ++i) d[i] = static_cast<char>(nw[add_from_new + i] - old[add_from_old + i]);
    patch.extra.append(target.substr(static_cast<std::size_t>(copy_from), static_cast<std::size_t>(copy)));
  };
  if (old_size == 0) {
    if (new_size > 0) emit(0, 0, 0, 0, new_size, 0);
    return patch;
  }
  auto& sa = thread_sa;
  auto& sa_size = thread_sa_size;
  if (sa_size < static_cast<std::size_t>(old_size)) {
    sa.reset();
    sa.reset(new saidx_t[static_cast<std::size_t>(old_size)]);
    sa_size = static_cast<std::size_t>(old_size);
  }
  if (divsufsort(old, sa.get(), static_cast<saidx_t>(old_size)) != 0) fail(Errc::internal, "suffix matcher: divsufsort failed");
  auto& bucket = thread_bucket;
  bucket.clear();
  if (old_size >= kBucketFloor) {
    // Counts of each pair, then each pair's range of the suffix array: suffixes are sorted by
    // their bytes, and the one-byte suffix (the last byte) comes first among those starting with
    // its byte, so it is stepped over.
    bucket.assign(2 * 65536, 0);
    for (i64 i = 0; i + 1 < old_size; ++i) ++bucket[2 * ((std::size_t{old[i]} << 8) | old[i + 1]) + 1];
    saidx_t at = 0;
    for (std::size_t p = 0; p < 65536; ++p) {
      if ((p & 0xff) == 0 && old[old_size - 1] == (p >> 8)) ++at;
      bucket[2 * p] = at;
      at += bucket[2 * p + 1];
      bucket[2 * p + 1] = at;
    }
  }
  Searcher search{old, old_size, sa.get(), bucket};
  const i64 budget = kWorkFloor + kWorkPerByte * new_size;

  // bsdiff's scan (Colin Percival, "Naive differences of executable code"): find an exact match
  // that the current alignment (lastoffset) does not already explain by 8 bytes or more, then
  // split the gap before it into an approximate forward extension of the last match, new bytes,
  // and an approximate backward extension of the new match.
  i64 scan = 0, len = 0, pos = 0, last_scan = 0, last_pos = 0, last_offset = 0;
  while (scan < new_size) {
    i64 old_score = 0;
    i64 scsc = scan += len;
    for (; scan < new_size; ++scan) {
      len = search.longest(nw + scan, new_size - scan, pos);
      if (search.work > budget) return std::nullopt;
      for (; scsc < scan + len; ++scsc)
        if (scsc + last_offset < old_size && old[scsc + last_offset] == nw[scsc]) ++old_score;
      if ((len == old_score && len != 0) || len > old_score + 8) break;
      if (scan + last_offset < old_size && old[scan + last_offset] == nw[scan]) --old_score;
    }
    if (len == old_score && scan != new_size) continue;
    // Forward extension of the last match: the longest prefix where at least half agrees.
    i64 s = 0, best = 0, lenf = 0;
    for (i64 i = 0; last_scan + i < scan && last_pos + i < old_size;) {
      if (old[last_pos + i] == nw[last_scan + i]) ++s;
      ++i;
      if (s * 2 - i > best * 2 - lenf) {
        best = s;
        lenf = i;
      }
    }
    // Backward extension of the new match.
    i64 lenb = 0;
    if (scan < new_size) {
      s = 0;
      best = 0;
      for (i64 i = 1; scan >= last_scan + i && pos >= i; ++i) {
        if (old[pos - i] == nw[scan - i]) ++s;
        if (s * 2 - i > best * 2 - lenb) {
          best = s;
          lenb = i;
        }
      }
    }
    // Where the two overlap, split at the point that keeps the most agreeing bytes.
    if (last_scan + lenf > scan - lenb) {
      const i64 overlap = (last_scan + lenf) - (scan - lenb);
      s = 0;
      best = 0;
      i64 lens = 0;
      for (i64 i = 0; i < overlap; ++i) {
        if (nw[last_scan + lenf - overlap + i] == old[last_pos + lenf - overlap + i]) ++s;
        if (nw[scan - lenb + i] == old[pos - lenb + i]) --s;
        if (s > best) {
          best = s;
          lens = i + 1;
        }
      }
      lenf += lens - overlap;
      lenb -= lens;
    }
    const i64 copy = (scan - lenb) - (last_scan + lenf);
    const i64 seek = (pos - lenb) - (last_pos + lenf);
    emit(last_scan, last_pos, lenf, last_scan + lenf, copy, seek);
    last_scan = scan - lenb;
    last_pos = pos - lenb;
    last_offset = pos - scan;
  }
  return patch;
}

namespace {

struct StreamReader {
  std::string_view data;
  std::size_t at = 0;
  const std::string& what;
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= data.size()) fail(Errc::bad_input, "{}: a suffix patch's controls end in the middle of a number", what);
      const auto b = static_cast<unsigned char>(data[at++]);
      if (shift == 63 && b > 1) break;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(Errc::bad_input, "{}: a suffix patch's control number is too large", what);
  }
};

}  // namespace

void apply(std::string_view controls, std::string_view diff, std::string_view extra, std::string_view source,
           std::uint64_t target_size, char* out, const std::string& what) {
  StreamReader ctl{controls, 0, what};
  std::uint64_t new_pos = 0, old_pos = 0, diff_at = 0, extra_at = 0;
  const std::uint64_t old_size = source.size();
  while (ctl.at < controls.size()) {
    const std::uint64_t add = ctl.varint(), copy = ctl.varint(), seek_code = ctl.varint();
    if (add > target_size - new_pos || add > diff.size() - diff_at || add > old_size - old_pos)
      fail(Errc::bad_input, "{}: a suffix patch adds {} bytes past the end of its old, new or diff bytes", what, add);
    for (std::uint64_t i = 0; i < add; ++i)
      out[new_pos + i] = static_cast<char>(static_cast<unsigned char>(diff[diff_at + i]) + static_cast<unsigned char>(source[old_pos + i]));
    new_pos += add;
    old_pos += add;
    diff_at += add;
    if (copy > target_size - new_pos || copy > extra.size() - extra_at)
      fail(Errc::bad_input, "{}: a suffix patch copies {} bytes past the end of its new or extra bytes", what, copy);
    std::memcpy(out + new_pos, extra.data() + extra_at, copy);
    new_pos += copy;
    extra_at += copy;
    // Zig-zag decoded without overflow: the magnitude is at most 2^63 - 1 either way.
    const std::uint64_t magnitude = seek_code >> 1;
    if (seek_code & 1) {
      if (magnitude + 1 > old_pos) fail(Errc::bad_input, "{}: a suffix patch seeks before the start of its old bytes", what);
      old_pos -= magnitude + 1;
    } else {
      if (magnitude > old_size - old_pos) fail(Errc::bad_input, "{}: a suffix patch seeks past the end of its old bytes", what);
      old_pos += magnitude;
    }
  }
  if (new_pos != target_size || diff_at != diff.size() || extra_at != extra.size())
    fail(Errc::bad_input, "{}: a suffix patch rebuilds {} of {} bytes and leaves {} diff and {} extra bytes unused", what,
         new_pos, target_size, diff.size() - diff_at, extra.size() - extra_at);
}

}  // namespace dd::suffix
