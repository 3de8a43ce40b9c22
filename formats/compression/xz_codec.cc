#include "formats/compression/xz_codec.h"

#include <lzma.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace dd {
namespace {

class XzDecompressor : public Decompressor {
 public:
  XzDecompressor(ExpansionLimit limit, std::string what) : Decompressor(std::move(what)), guard_(limit, what_) { init(); }
  ~XzDecompressor() override { lzma_end(&z_); }

  std::size_t step(std::string_view& input, char* out, std::size_t capacity) override {
    if (done_ && !input.empty()) {
      // Concatenated streams form one layer, as `xz -d` reads them; NUL stream padding between
      // them is skipped (the decoder checks that what follows is a stream header).
      while (!input.empty() && input.front() == '\0') input.remove_prefix(1);
      if (input.empty()) return 0;
      lzma_end(&z_);
      init();
      done_ = false;
    }
    if (done_) return 0;
    z_.next_in = reinterpret_cast<const uint8_t*>(input.data());
    z_.avail_in = input.size();
    z_.next_out = reinterpret_cast<uint8_t*>(out);
    z_.avail_out = capacity;
    const lzma_ret rc = lzma_code(&z_, LZMA_RUN);
    const std::size_t used = input.size() - z_.avail_in, produced = capacity - z_.avail_out;
    input.remove_prefix(used);
    guard_.add_input(used);
    guard_.add_output(produced);
    switch (rc) {
      case LZMA_OK:
      case LZMA_BUF_ERROR: break;
      case LZMA_STREAM_END: done_ = true; break;
      case LZMA_MEMLIMIT_ERROR:
        fail(Errc::limit, "{}: its xz stream needs {} MiB to decompress, more than the {} MiB allowed", what_,
             lzma_memusage(&z_) >> 20, kXzDecoderMemoryLimit >> 20);
      case LZMA_MEM_ERROR: fail(Errc::limit, "{}: out of memory decompressing xz", what_);
      case LZMA_FORMAT_ERROR: fail(Errc::bad_input, "{} is corrupt: not an xz stream", what_);
      case LZMA_OPTIONS_ERROR: fail(Errc::unsupported, "{} uses xz options this build cannot read", what_);
      default: fail(Errc::bad_input, "{} is corrupt: not valid xz data (liblzma error {})", what_, static_cast<int>(rc));
    }
    return produced;
  }
  bool complete() const override { return done_; }

 private:
  ExpansionMeter guard_;
  void init() {
    z_ = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z_, kXzDecoderMemoryLimit, 0) != LZMA_OK) fail(Errc::internal, "cannot initialise the xz decoder");
  }
  lzma_stream z_ = LZMA_STREAM_INIT;
  bool done_ = false;
};

class XzCompressor : public Compressor {
 public:
  explicit XzCompressor(int level) : out_(kBlockSize) {
    const uint32_t preset = level == 0 ? LZMA_PRESET_DEFAULT : static_cast<uint32_t>(std::clamp(level, 1, 9));
    if (lzma_easy_encoder(&z_, preset, LZMA_CHECK_CRC64) != LZMA_OK) fail(Errc::internal, "cannot initialise the xz encoder");
  }
  ~XzCompressor() override { lzma_end(&z_); }

  void feed(const char* data, std::size_t size, const ByteSink& sink) override {
    z_.next_in = reinterpret_cast<const uint8_t*>(data);
    z_.avail_in = size;
    while (z_.avail_in > 0) step(LZMA_RUN, sink);
  }
  void finish(const ByteSink& sink) override {
    while (step(LZMA_FINISH, sink) != LZMA_STREAM_END) {
    }
  }

 private:
  lzma_ret step(lzma_action action, const ByteSink& sink) {
    z_.next_out = reinterpret_cast<uint8_t*>(out_.data());
    z_.avail_out = out_.size();
    const lzma_ret rc = lzma_code(&z_, action);
    if (rc != LZMA_OK && rc != LZMA_STREAM_END) fail(Errc::internal, "xz compression failed (liblzma error {})", static_cast<int>(rc));
    const std::size_t produced = out_.size() - z_.avail_out;
    if (produced > 0) sink(out_.data(), produced);
    return rc;
  }

  lzma_stream z_ = LZMA_STREAM_INIT;
  std::vector<char> out_;
};

}  // namespace

std::unique_ptr<Decompressor> make_xz_decompressor(ExpansionLimit limit, std::string what) {
  return std::make_unique<XzDecompressor>(std::move(limit), std::move(what));
}

std::unique_ptr<Compressor> make_xz_compressor(int level) { return std::make_unique<XzCompressor>(level); }

}  // namespace dd
