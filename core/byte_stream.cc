#include "core/byte_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/interruption.h"
#include "core/printable.h"

namespace dd {

std::size_t MemoryStream::read(char* buffer, std::size_t size) {
  const std::size_t n = std::min(size, bytes_.size() - position_);
  std::memcpy(buffer, bytes_.data() + position_, n);
  position_ += n;
  return n;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd open_for_reading(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail(Errc::not_found, "{}: no such file", path);
    fail_errno(path);
  }
  return UniqueFd(fd);
}

namespace {

// The directory a descriptor's file is in, for a full-disk message: temporaries have no name of
// their own (O_TMPFILE shows as "DIR/#INODE (deleted)"), but the user must learn which file
// system filled. Empty when it cannot be told.
std::string directory_of_fd(int fd) {
  char link[PATH_MAX];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
  if (n <= 0 || link[0] != '/') return {};
  const std::string path(link, static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == 0 ? "/" : printable(path.substr(0, slash));
}

}  // namespace

void write_all(int fd, const char* data, std::size_t size, std::string_view what) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        throw_if_interrupted();
        continue;
      }
      if (errno == ENOSPC || errno == EDQUOT) {
        const int saved = errno;
        const std::string where = directory_of_fd(fd);
        errno = saved;
        if (!where.empty() && what.find(where) == std::string_view::npos)
          fail_errno(fmt::format("writing {} in {}", what, where));
      }
      fail_errno(fmt::format("writing {}", what));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

FileRangeStream::FileRangeStream(std::shared_ptr<UniqueFd> file, std::uint64_t offset,
                                 std::uint64_t length, std::string what)
    : file_(std::move(file)), offset_(offset), remaining_(length), what_(std::move(what)) {}

std::size_t FileRangeStream::read(char* buffer, std::size_t size) {
  throw_if_interrupted();  // every source read passes here, so a signal stops the run within a block
  if (remaining_ == 0 || size == 0) return 0;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
  ssize_t n;
  do {
    n = ::pread(file_->get(), buffer, want, static_cast<off_t>(offset_));
  } while (n < 0 && errno == EINTR);
  if (n < 0) fail_errno(fmt::format("reading {}", what_));
  if (n == 0) fail(Errc::bad_input, "{} is truncated: {} bytes missing", what_, remaining_);
  offset_ += static_cast<std::uint64_t>(n);
  remaining_ -= static_cast<std::uint64_t>(n);
  return static_cast<std::size_t>(n);
}

VerifyingStream::VerifyingStream(ByteStream& source, Digest expected,
                                 std::optional<std::uint64_t> expected_size, std::string what)
    : source_(source), expected_(std::move(expected)), expected_size_(expected_size),
      what_(std::move(what)), hasher_(expected_.algorithm()) {}

std::size_t VerifyingStream::read(char* buffer, std::size_t size) {
  if (verified_) return 0;
  const std::size_t n = source_.read(buffer, size);
  if (n > 0) {
    hasher_.update(buffer, n);
    if (expected_size_ && hasher_.bytes() > *expected_size_)
      fail(Errc::integrity, "{} is larger than its declared size of {} bytes", what_, *expected_size_);
    return n;
  }
  const std::uint64_t total = hasher_.bytes();
  if (expected_size_ && total != *expected_size_)
    fail(Errc::integrity, "{} has {} bytes, {} declared (truncated?)", what_, total, *expected_size_);
  const Digest actual = hasher_.finish();
  if (actual != expected_)
    fail(Errc::integrity, "{} does not match its digest: expected {}, got {}", what_,
         expected_.str(), actual.str());
  verified_ = true;
  return 0;
}

std::size_t CountingStream::read(char* buffer, std::size_t size) {
  const std::size_t n = source_.read(buffer, size);
  count_ += n;
  if (n > 0 && on_bytes_) on_bytes_(n);
  return n;
}

std::string read_prefix(ByteStream& stream, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const std::size_t r = stream.read(out.data() + got, n - got);
    if (r == 0) break;
    got += r;
  }
  out.resize(got);
  return out;
}

std::string read_capped(ByteStream& stream, std::size_t cap, std::string_view what) {
  std::string out;
  std::vector<char> block(64 * 1024);
  for (;;) {
    const std::size_t n = stream.read(block.data(), block.size());
    if (n == 0) break;
    if (out.size() + n > cap)
      fail(Errc::limit, "{} is larger than the limit of {} bytes", what, cap);
    out.append(block.data(), n);
  }
  return out;
}

void drain(ByteStream& stream) {
  std::vector<char> block(kBlockSize);
  while (stream.read(block.data(), block.size()) != 0) {
  }
}

std::uint64_t copy_stream(ByteStream& source,
                          const std::function<void(const char*, std::size_t)>& sink) {
  std::vector<char> block(kBlockSize);
  std::uint64_t total = 0;
  for (;;) {
    const std::size_t n = source.read(block.data(), block.size());
    if (n == 0) break;
    sink(block.data(), n);
    total += n;
  }
  return total;
}

std::size_t SequentialFdStream::read(char* buffer, std::size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) fail_errno(what_);
    throw_if_interrupted();
  }
}

void read_exact(ByteStream& stream, char* out, std::size_t size, std::string_view what) {
  while (size > 0) {
    const std::size_t got = stream.read(out, size);
    if (got == 0) fail(Errc::bad_input, "{} is truncated", what);
    out += got;
    size -= got;
  }
}

}  // namespace dd
