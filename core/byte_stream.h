// Pull-based byte streams. An element's body is a ByteStream: a stage reads it in blocks and
// never needs the whole blob in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.h"

namespace dd {

// Where pushed bytes go: a compressor, a file, a hasher.
using ByteSink = std::function<void(const char*, std::size_t)>;

inline constexpr std::size_t kBlockSize = 1 << 20;  // what stages read and write at a time

class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to `size` bytes into `buffer`; returns 0 only at the end of the stream. Throws
  // dd::Error on failure, including integrity failures detected at the end of the stream.
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
};

// A stream over bytes held in memory (small JSON documents).
class MemoryStream : public ByteStream {
 public:
  explicit MemoryStream(std::string bytes) : bytes_(std::move(bytes)) {}
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  std::string bytes_;
  std::size_t position_ = 0;
};

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  int get() const { return fd_; }
  int release() { int fd = fd_; fd_ = -1; return fd; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

UniqueFd open_for_reading(const std::string& path);
void write_all(int fd, const char* data, std::size_t size, std::string_view what);

// Reads `length` bytes of a file from `offset` (a member of an uncompressed tar, a blob file).
// A file that ends early is a truncation error naming `what`.
class FileRangeStream : public ByteStream {
 public:
  FileRangeStream(std::shared_ptr<UniqueFd> file, std::uint64_t offset, std::uint64_t length,
                  std::string what);
  std::size_t read(char* buffer, std::size_t size) override;
  // Where the unread rest of the range lies.
  const std::shared_ptr<UniqueFd>& file() const { return file_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t remaining() const { return remaining_; }

 private:
  std::shared_ptr<UniqueFd> file_;
  std::uint64_t offset_;
  std::uint64_t remaining_;
  std::string what_;
};

// Reads a file or a pipe front to back from its current offset (a package on standard input).
class SequentialFdStream : public ByteStream {
 public:
  SequentialFdStream(UniqueFd fd, std::string what) : fd_(std::move(fd)), what_(std::move(what)) {}
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  UniqueFd fd_;
  std::string what_;
};

// Passes bytes through while hashing them; at the end of the stream checks the digest and, when
// given, the size. More bytes than the expected size fail at once, without waiting for the end.
class VerifyingStream : public ByteStream {
 public:
  VerifyingStream(ByteStream& source, Digest expected, std::optional<std::uint64_t> expected_size,
                  std::string what);
  std::size_t read(char* buffer, std::size_t size) override;
  bool verified() const { return verified_; }

 private:
  ByteStream& source_;
  Digest expected_;
  std::optional<std::uint64_t> expected_size_;
  std::string what_;
  Hasher hasher_;
  bool verified_ = false;
};

// Counts bytes as they pass, and reports each block to `on_bytes` (progress display).
class CountingStream : public ByteStream {
 public:
  CountingStream(ByteStream& source, std::function<void(std::uint64_t)> on_bytes)
      : source_(source), on_bytes_(std::move(on_bytes)) {}
  std::size_t read(char* buffer, std::size_t size) override;
  std::uint64_t count() const { return count_; }

 private:
  ByteStream& source_;
  std::function<void(std::uint64_t)> on_bytes_;
  std::uint64_t count_ = 0;
};

// Reads exactly `size` bytes; a stream that ends first is Errc::bad_input "WHAT is truncated".
void read_exact(ByteStream& stream, char* out, std::size_t size, std::string_view what);
// Reads up to `n` bytes: fewer only when the stream ends first (a file's first bytes).
std::string read_prefix(ByteStream& stream, std::size_t n);
// Reads a whole stream that must be small (JSON). More than `cap` bytes is Errc::limit.
std::string read_capped(ByteStream& stream, std::size_t cap, std::string_view what);
// Reads and discards the rest of a stream; end-of-stream checks still run.
void drain(ByteStream& stream);
// Copies a stream to `sink` block by block; returns the number of bytes copied.
std::uint64_t copy_stream(ByteStream& source, const std::function<void(const char*, std::size_t)>& sink);

}  // namespace dd
