#include "delta/methods/vcdiff_check.h"

#include <unistd.h>

#include <array>

#include "core/error.h"
#include "core/interruption.h"

namespace dd {
namespace {

constexpr unsigned char kVcdDecompress = 0x01, kVcdCodetable = 0x02, kVcdAppheader = 0x04;
constexpr unsigned char kVcdSource = 0x01, kVcdTarget = 0x02, kVcdAdler32 = 0x04;

class Reader {
 public:
  Reader(int fd, std::uint64_t size, const std::string& what) : fd_(fd), size_(size), what_(what) {}
  bool at_end() const { return pos_ == size_; }
  std::uint64_t pos() const { return pos_; }
  unsigned char byte() {
    if (pos_ >= size_) truncated();
    if (pos_ < start_ || pos_ >= start_ + filled_) {
      ssize_t n;
      do n = ::pread(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(pos_));
      while (n < 0 && errno == EINTR);
      if (n < 0) fail_errno(what_ + ": the xdelta3 payload");
      if (n == 0) truncated();
      start_ = pos_;
      filled_ = static_cast<std::uint64_t>(n);
    }
    return buffer_[pos_++ - start_];
  }
  // RFC 3284 §2: base-128, most significant digit first, high bit set on all but the last.
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      const unsigned char b = byte();
      if (v >> 57) break;
      v = (v << 7) | (b & 0x7f);
      if (!(b & 0x80)) return v;
    }
    fail(Errc::bad_input, "{}: the xdelta3 payload holds an oversized number at byte {}", what_, pos_);
  }
  void skip(std::uint64_t n) {
    if (n > size_ - pos_) truncated();
    pos_ += n;
  }

 private:
  [[noreturn]] void truncated() { fail(Errc::bad_input, "{}: the xdelta3 payload is truncated", what_); }
  int fd_;
  std::uint64_t size_, pos_ = 0, start_ = 0, filled_ = 0;
  const std::string& what_;
  std::array<unsigned char, 64 * 1024> buffer_{};
};

}  // namespace

void check_plain_vcdiff(int fd, std::uint64_t size, const std::string& what) {
  Reader r(fd, size, what);
  if (size < 5 || r.byte() != 0xd6 || r.byte() != 0xc3 || r.byte() != 0xc4 || r.byte() != 0x00)
    fail(Errc::bad_input, "{}: not a VCDIFF version 0 payload", what);
  const unsigned char indicator = r.byte();
  if (indicator & kVcdDecompress)
    fail(Errc::bad_input, "{}: the xdelta3 payload asks for secondary compression, which is refused", what);
  if (indicator & kVcdCodetable) fail(Errc::bad_input, "{}: the xdelta3 payload carries its own code table, which is refused", what);
  if (indicator & kVcdAppheader)
    fail(Errc::bad_input, "{}: the xdelta3 payload carries an application header, which is refused", what);
  if (indicator != 0) fail(Errc::bad_input, "{}: the xdelta3 payload sets unknown header bits {:#x}", what, indicator);
  std::uint64_t windows = 0;
  while (!r.at_end()) {
    if (++windows % 4096 == 0) throw_if_interrupted();
    const unsigned char win = r.byte();
    if ((win & ~(kVcdSource | kVcdTarget | kVcdAdler32)) != 0 || (win & kVcdSource && win & kVcdTarget))
      fail(Errc::bad_input, "{}: an xdelta3 window has an invalid indicator {:#x}", what, win);
    if (win & (kVcdSource | kVcdTarget)) {
      r.varint();  // segment length
      r.varint();  // segment position
    }
    const std::uint64_t encoding_length = r.varint();
    const std::uint64_t encoding_start = r.pos();
    r.varint();  // target window length
    if (r.byte() != 0)
      fail(Errc::bad_input, "{}: an xdelta3 window asks for secondary compression, which is refused", what);
    if (encoding_length < r.pos() - encoding_start)
      fail(Errc::bad_input, "{}: an xdelta3 window's encoding length is too short", what);
    r.skip(encoding_length - (r.pos() - encoding_start));
  }
}

}  // namespace dd
