// Layer compression: detection by magic bytes, and push-style compressors and decompressors
// (fed a block at a time) so the same code can decompress a pull stream or check bytes that are
// being copied elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"
#include "core/compression_kind.h"
#include "core/expansion_limit.h"

namespace dd {



class Decompressor {
 public:
  virtual ~Decompressor() = default;
  // Consumes compressed bytes from the front of `input` and writes at most `capacity`
  // decompressed bytes to `out`; returns how many it wrote. Output never waits in an internal
  // buffer of ours, so memory stays bounded whatever the input expands to.
  virtual std::size_t step(std::string_view& input, char* out, std::size_t capacity) = 0;
  // True when the compressed stream ended cleanly (last member or frame complete).
  virtual bool complete() const = 0;

  // Push helpers built on step(): feed() passes all of `data` through; finish() flushes and
  // fails with Errc::bad_input (truncated) when the stream stopped mid-way.
  void feed(const char* data, std::size_t size, const ByteSink& sink);
  void finish(const ByteSink& sink);
  const std::string& what() const { return what_; }

 protected:
  explicit Decompressor(std::string what) : what_(std::move(what)) {}
  std::string what_;
};

// A decompressor for any Compression. `what` names the blob in errors. Only the one format named
// is decoded: compression nested inside it is data, as docker treats it.
std::unique_ptr<Decompressor> make_decompressor(Compression c, ExpansionLimit limit, std::string what);

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual void feed(const char* data, std::size_t size, const ByteSink& sink) = 0;
  virtual void finish(const ByteSink& sink) = 0;
};

// gzip output is deterministic (no name, no timestamp) so equal input gives equal digests.
// `level` 0 picks the format's default. gzip, zstd and none are what images are written with;
// bzip2 and xz only serve whole-layer payloads of delta packages.
std::unique_ptr<Compressor> make_compressor(Compression c, int level = 0);

// Pull adapter: reads compressed bytes from `source` and yields decompressed bytes.
class DecompressingStream : public ByteStream {
 public:
  DecompressingStream(ByteStream& source, Compression c, ExpansionLimit limit, std::string what);
  // The same, owning its source.
  DecompressingStream(std::unique_ptr<ByteStream> source, Compression c, ExpansionLimit limit, std::string what);
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  std::unique_ptr<ByteStream> owned_source_;
  ByteStream& source_;
  std::unique_ptr<Decompressor> decompressor_;
  std::vector<char> input_buffer_;
  std::string_view input_;
  bool source_done_ = false;
};

}  // namespace dd
