#include "delta/methods/bspatch.h"

#include <bzlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/interruption.h"

namespace dd {
namespace {

constexpr std::size_t kHeaderSize = 32;
constexpr std::size_t kBlock = 128 * 1024;
// Controls that neither add nor insert a byte only move in the old file; bsdiff writes few.
// Without a bound a tiny bzip2 stream of zeros would be millions of them, each costing time.
constexpr std::uint64_t kMaxIdleControls = 1u << 16;

// bsdiff's numbers: 8 bytes little-endian magnitude, the top bit of the last byte the sign.
// -0 and a magnitude of 2^63 are not numbers bsdiff writes.
bool offtin(const unsigned char* b, std::int64_t& value) {
  std::uint64_t magnitude = 0;
  for (int i = 7; i >= 0; --i) magnitude = (magnitude << 8) | b[i];
  const bool negative = (magnitude >> 63) != 0;
  magnitude &= ~(1ull << 63);
  if (negative && magnitude == 0) return false;
  value = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
  return true;
}

// One of the patch's three bzip2 streams, read from its stretch of the patch file.
class Bzip2Section {
 public:
  Bzip2Section(int fd, std::uint64_t offset, std::uint64_t length, const char* name, const std::string& what)
      : fd_(fd), offset_(offset), remaining_(length), name_(name), what_(what) {
    if (BZ2_bzDecompressInit(&z_, 0, 0) != BZ_OK) fail(Errc::internal, "bzip2 init failed");
  }
  ~Bzip2Section() { BZ2_bzDecompressEnd(&z_); }
  Bzip2Section(const Bzip2Section&) = delete;
  Bzip2Section& operator=(const Bzip2Section&) = delete;

  // Fills exactly `n` bytes, or fails naming the section.
  void read(char* out, std::size_t n) {
    z_.next_out = out;
    z_.avail_out = static_cast<unsigned>(n);
    while (z_.avail_out > 0) {
      if (ended_) fail(Errc::bad_input, "{}: the bsdiff patch's {} stream ends early", what_, name_);
      if (z_.avail_in == 0 && remaining_ > 0) refill();
      const unsigned before_in = z_.avail_in, before_out = z_.avail_out;
      const int rc = BZ2_bzDecompress(&z_);
      if (rc == BZ_STREAM_END) ended_ = true;
      else if (rc != BZ_OK) fail(Errc::bad_input, "{}: the bsdiff patch's {} stream is damaged (bzip2 error {})", what_, name_, rc);
      else if (z_.avail_in == before_in && z_.avail_out == before_out && remaining_ == 0)
        fail(Errc::bad_input, "{}: the bsdiff patch's {} stream is truncated", what_, name_);
    }
  }

  // The stream must end here: a patch holds nothing its controls do not use.
  void finish() {
    char extra;
    z_.next_out = &extra;
    z_.avail_out = 1;
    while (!ended_) {
      if (z_.avail_in == 0 && remaining_ > 0) refill();
      const unsigned before_in = z_.avail_in;
      const int rc = BZ2_bzDecompress(&z_);
      if (rc == BZ_STREAM_END) ended_ = true;
      else if (rc != BZ_OK) fail(Errc::bad_input, "{}: the bsdiff patch's {} stream is damaged (bzip2 error {})", what_, name_, rc);
      if (z_.avail_out == 0) fail(Errc::bad_input, "{}: the bsdiff patch's {} stream holds more than its controls use", what_, name_);
      if (!ended_ && z_.avail_in == before_in && remaining_ == 0)
        fail(Errc::bad_input, "{}: the bsdiff patch's {} stream is truncated", what_, name_);
    }
  }

 private:
  void refill() {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input_.size()));
    std::size_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, input_.data() + done, n - done, static_cast<off_t>(offset_ + done));
      if (got < 0) {
        if (errno == EINTR) continue;
        fail_errno(what_ + ": the bsdiff patch");
      }
      if (got == 0) fail(Errc::bad_input, "{}: the bsdiff patch file is shorter than its header says", what_);
      done += static_cast<std::size_t>(got);
    }
    offset_ += n;
    remaining_ -= n;
    z_.next_in = input_.data();
    z_.avail_in = static_cast<unsigned>(n);
  }

  int fd_;
  std::uint64_t offset_, remaining_;
  const char* name_;
  const std::string& what_;
  bz_stream z_{};
  bool ended_ = false;
  std::array<char, 64 * 1024> input_{};
};

}  // namespace

void bspatch_stream(int patch_fd, std::uint64_t patch_size, std::uint64_t old_size, const OldFileReader& read_old,
                    std::uint64_t declared_size, const std::function<void(const char*, std::size_t)>& out,
                    const std::string& what) {
  unsigned char header[kHeaderSize];
  if (patch_size < kHeaderSize || ::pread(patch_fd, header, kHeaderSize, 0) != static_cast<ssize_t>(kHeaderSize) ||
      std::memcmp(header, "BSDIFF40", 8) != 0)
    fail(Errc::bad_input, "{}: not a bsdiff payload (no BSDIFF40 header)", what);
  std::int64_t ctrl_len = 0, diff_len = 0, new_size = 0;
  if (!offtin(header + 8, ctrl_len) || !offtin(header + 16, diff_len) || !offtin(header + 24, new_size) || ctrl_len < 0 ||
      diff_len < 0 || new_size < 0)
    fail(Errc::bad_input, "{}: the bsdiff header holds a negative size", what);
  const std::uint64_t body = patch_size - kHeaderSize;
  if (static_cast<std::uint64_t>(ctrl_len) > body || static_cast<std::uint64_t>(diff_len) > body - ctrl_len)
    fail(Errc::bad_input, "{}: the bsdiff header's stream lengths ({} + {}) exceed the {}-byte patch", what, ctrl_len,
         diff_len, patch_size);
  if (static_cast<std::uint64_t>(new_size) != declared_size)
    fail(Errc::bad_input, "{}: the bsdiff payload makes {} bytes, but the layer has {}", what, new_size, declared_size);

  Bzip2Section ctrl(patch_fd, kHeaderSize, ctrl_len, "control", what);
  Bzip2Section diff(patch_fd, kHeaderSize + ctrl_len, diff_len, "diff", what);
  Bzip2Section extra(patch_fd, kHeaderSize + ctrl_len + diff_len, body - ctrl_len - diff_len, "extra", what);

  std::vector<char> buffer(kBlock), old(kBlock);
  std::uint64_t new_pos = 0, idle = 0;
  std::int64_t old_pos = 0;
  while (new_pos < declared_size) {
    throw_if_interrupted();
    unsigned char triple[24];
    ctrl.read(reinterpret_cast<char*>(triple), sizeof triple);
    std::int64_t add = 0, insert = 0, seek = 0;
    if (!offtin(triple, add) || !offtin(triple + 8, insert) || !offtin(triple + 16, seek))
      fail(Errc::bad_input, "{}: a bsdiff control holds an invalid number", what);
    if (add < 0 || insert < 0) fail(Errc::bad_input, "{}: a bsdiff control has a negative length", what);
    const std::uint64_t left = declared_size - new_pos;
    if (static_cast<std::uint64_t>(add) > left || static_cast<std::uint64_t>(insert) > left - add)
      fail(Errc::bad_input, "{}: a bsdiff control writes past the declared {} bytes", what, declared_size);
    if (add == 0 && insert == 0 && ++idle > kMaxIdleControls)
      fail(Errc::bad_input, "{}: the bsdiff patch has more than {} controls that write nothing", what, kMaxIdleControls);
    // The added bytes are old bytes plus diff bytes: all of them must lie inside the old file.
    if (add > 0 && (old_pos < 0 || static_cast<std::uint64_t>(old_pos) > old_size ||
                    static_cast<std::uint64_t>(add) > old_size - static_cast<std::uint64_t>(old_pos)))
      fail(Errc::bad_input, "{}: a bsdiff control reads bytes {}..{} of a {}-byte base layer", what, old_pos,
           static_cast<std::uint64_t>(old_pos) + add, old_size);
    for (std::uint64_t done = 0; done < static_cast<std::uint64_t>(add);) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(add - done, kBlock));
      diff.read(buffer.data(), n);
      read_old(static_cast<std::uint64_t>(old_pos) + done, n, old.data());
      for (std::size_t i = 0; i < n; ++i) buffer[i] = static_cast<char>(buffer[i] + old[i]);
      out(buffer.data(), n);
      done += n;
    }
    for (std::uint64_t done = 0; done < static_cast<std::uint64_t>(insert);) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(insert - done, kBlock));
      extra.read(buffer.data(), n);
      out(buffer.data(), n);
      done += n;
    }
    new_pos += add + insert;
    if (__builtin_add_overflow(old_pos, add, &old_pos) || __builtin_add_overflow(old_pos, seek, &old_pos))
      fail(Errc::bad_input, "{}: a bsdiff control seeks outside any file", what);
  }
  ctrl.finish();
  diff.finish();
  extra.finish();
}

}  // namespace dd
