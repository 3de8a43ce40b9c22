#include "formats/compression/bzip2_codec.h"

#include <bzlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace dd {
namespace {

unsigned int clamp_uint(std::size_t n) { return static_cast<unsigned int>(std::min<std::size_t>(n, UINT_MAX / 2)); }

class Bzip2Decompressor : public Decompressor {
 public:
  Bzip2Decompressor(ExpansionLimit limit, std::string what) : Decompressor(std::move(what)), guard_(limit, what_) { init(); }
  ~Bzip2Decompressor() override { BZ2_bzDecompressEnd(&z_); }

  std::size_t step(std::string_view& input, char* out, std::size_t capacity) override {
    if (at_stream_end_ && !input.empty() && input.front() != 'B') {
      // Bytes after the last stream that start no new one: ignored, as bzip2 -d ignores them
      // ("trailing garbage"); the stored digest, checked beside, still covers them.
      guard_.add_input(input.size());
      input.remove_prefix(input.size());
      return 0;
    }
    if (at_stream_end_ && !input.empty()) {  // concatenated streams (pbzip2, cat a.bz2 b.bz2)
      BZ2_bzDecompressEnd(&z_);
      init();
      at_stream_end_ = false;
    }
    if (at_stream_end_) return 0;
    z_.next_in = const_cast<char*>(input.data());
    z_.avail_in = clamp_uint(input.size());
    z_.next_out = out;
    z_.avail_out = clamp_uint(capacity);
    const unsigned int in_before = z_.avail_in, out_before = z_.avail_out;
    const int rc = BZ2_bzDecompress(&z_);
    if (rc != BZ_OK && rc != BZ_STREAM_END)
      fail(Errc::bad_input, "{} is corrupt: not valid bzip2 data (libbz2 error {})", what_, rc);
    const std::size_t used = in_before - z_.avail_in, produced = out_before - z_.avail_out;
    input.remove_prefix(used);
    guard_.add_input(used);
    guard_.add_output(produced);
    if (rc == BZ_STREAM_END) at_stream_end_ = true;
    return produced;
  }
  bool complete() const override { return at_stream_end_; }

 private:
  void init() {
    std::memset(&z_, 0, sizeof z_);
    if (BZ2_bzDecompressInit(&z_, 0, 0) != BZ_OK) fail(Errc::internal, "cannot initialise the bzip2 decoder");
  }
  ExpansionMeter guard_;
  bz_stream z_{};
  bool at_stream_end_ = false;
};

class Bzip2Compressor : public Compressor {
 public:
  explicit Bzip2Compressor(int level) : out_(kBlockSize) {
    std::memset(&z_, 0, sizeof z_);
    if (BZ2_bzCompressInit(&z_, level == 0 ? 9 : std::clamp(level, 1, 9), 0, 0) != BZ_OK)
      fail(Errc::internal, "cannot initialise the bzip2 encoder");
  }
  ~Bzip2Compressor() override { BZ2_bzCompressEnd(&z_); }

  void feed(const char* data, std::size_t size, const ByteSink& sink) override {
    while (size > 0) {
      const unsigned int chunk = clamp_uint(size);
      z_.next_in = const_cast<char*>(data);
      z_.avail_in = chunk;
      while (z_.avail_in > 0) step(BZ_RUN, sink);
      data += chunk;
      size -= chunk;
    }
  }
  void finish(const ByteSink& sink) override {
    while (step(BZ_FINISH, sink) != BZ_STREAM_END) {
    }
  }

 private:
  int step(int action, const ByteSink& sink) {
    z_.next_out = out_.data();
    z_.avail_out = clamp_uint(out_.size());
    const int rc = BZ2_bzCompress(&z_, action);
    if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK && rc != BZ_STREAM_END)
      fail(Errc::internal, "bzip2 compression failed (libbz2 error {})", rc);
    const std::size_t produced = out_.size() - z_.avail_out;
    if (produced > 0) sink(out_.data(), produced);
    return rc;
  }

  bz_stream z_{};
  std::vector<char> out_;
};

}  // namespace

std::unique_ptr<Decompressor> make_bzip2_decompressor(ExpansionLimit limit, std::string what) {
  return std::make_unique<Bzip2Decompressor>(std::move(limit), std::move(what));
}

std::unique_ptr<Compressor> make_bzip2_compressor(int level) { return std::make_unique<Bzip2Compressor>(level); }

}  // namespace dd
