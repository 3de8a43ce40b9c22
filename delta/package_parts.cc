#include "delta/package_parts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <tuple>
#include <optional>

#include "core/big_endian.h"
#include "core/error.h"

namespace dd {
namespace {

std::string raw_sha256(std::string_view bytes) { return Digest::sha256_of(bytes).raw(); }

// The data of several parts, one after another.
class PartsStream : public PackageStream {
 public:
  struct Range {
    std::shared_ptr<UniqueFd> fd;
    std::uint64_t offset, remaining;
    std::string what;
  };
  explicit PartsStream(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}
  std::size_t read(char* buffer, std::size_t size) override {
    while (current_ < ranges_.size()) {
      Range& r = ranges_[current_];
      if (r.remaining == 0) {
        ++current_;
        continue;
      }
      const ssize_t n = ::pread(r.fd->get(), buffer, std::min<std::uint64_t>(size, r.remaining), static_cast<off_t>(r.offset));
      if (n < 0) fail_errno(r.what);
      if (n == 0) fail(Errc::bad_input, "{} is truncated", r.what);
      r.offset += static_cast<std::uint64_t>(n);
      r.remaining -= static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    return 0;
  }
  void skip(std::uint64_t n) override {
    while (n > 0) {
      if (current_ >= ranges_.size()) fail(Errc::bad_input, "{} ends early", ranges_.back().what);
      Range& r = ranges_[current_];
      const std::uint64_t k = std::min(n, r.remaining);
      r.offset += k;
      r.remaining -= k;
      n -= k;
      if (r.remaining == 0) ++current_;
    }
  }

 private:
  std::vector<Range> ranges_;
  std::size_t current_ = 0;
};

class PlainPackageStream : public PackageStream {
 public:
  PlainPackageStream(UniqueFd fd, std::string what) : fd_(fd.get()), what_(what), in_(std::move(fd), std::move(what)) {}
  std::size_t read(char* buffer, std::size_t size) override { return in_.read(buffer, size); }
  void skip(std::uint64_t n) override {
    const off_t here = ::lseek(fd_, 0, SEEK_CUR);
    struct stat st{};
    if (here >= 0 && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      if (static_cast<std::uint64_t>(st.st_size - here) < n) fail(Errc::bad_input, "{} is truncated", what_);
      if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) fail_errno(what_);
      return;
    }
    std::vector<char> buffer(kBlockSize);
    while (n > 0) {
      const std::size_t got = in_.read(buffer.data(), std::min<std::uint64_t>(n, buffer.size()));
      if (got == 0) fail(Errc::bad_input, "{} is truncated", what_);
      n -= got;
    }
  }

 private:
  int fd_;
  std::string what_;
  SequentialFdStream in_;
};

// Parts already hashed by this process (by device, inode, size and change time): applying each
// image of a stack opens the package again, and reading every part again each time would not do.
std::mutex checked_mutex;
std::set<std::tuple<dev_t, ino_t, off_t, std::int64_t, std::int64_t>> checked_parts;

struct ReadPart {
  PartHeader header;
  std::shared_ptr<UniqueFd> fd;
};

// Reads and checks one part's header; `label` is "part I of N (PATH)".
std::optional<PartHeader> read_part_header(int fd, const std::string& label, bool required) {
  unsigned char raw[kPartHeaderBytes];
  const ssize_t n = ::pread(fd, raw, sizeof raw, 0);
  if (n < 0) fail_errno(label);
  if (n < static_cast<ssize_t>(kPartMagic.size()) || std::memcmp(raw, kPartMagic.data(), kPartMagic.size()) != 0) {
    if (!required) return std::nullopt;
    fail(Errc::bad_input, "{} is not a part of a split docker_delta package", label);
  }
  if (n < static_cast<ssize_t>(sizeof raw)) fail(Errc::bad_input, "{} is truncated (it ends inside its part header)", label);
  if (std::string_view(reinterpret_cast<char*>(raw) + 96, 32) != raw_sha256(std::string_view(reinterpret_cast<char*>(raw), 96)))
    fail(Errc::integrity, "{} is damaged (its part header's checksum does not match)", label);
  if (read_be(raw + 8, 4) != 1) fail(Errc::unsupported, "{} has part format version {}; this docker_delta reads 1", label, read_be(raw + 8, 4));
  PartHeader h;
  h.index = static_cast<std::uint32_t>(read_be(raw + 12, 4));
  h.count = static_cast<std::uint32_t>(read_be(raw + 16, 4));
  h.data_bytes = read_be(raw + 24, 8);
  h.identity = Digest::from_raw("sha256", std::string_view(reinterpret_cast<char*>(raw) + 32, 32));
  h.data_sha256.assign(reinterpret_cast<char*>(raw) + 64, 32);
  if (h.count == 0 || h.count > kMaxParts || h.index == 0 || h.index > h.count)
    fail(Errc::bad_input, "{} claims to be part {} of {}", label, h.index, h.count);
  return h;
}

bool exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

// Where a path given for a split package puts its parts: "PKG" for "PKG.003", else nothing.
std::optional<std::string> base_of_part_name(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos || path.size() - dot - 1 < 3) return std::nullopt;
  for (std::size_t i = dot + 1; i < path.size(); ++i)
    if (path[i] < '0' || path[i] > '9') return std::nullopt;
  return path.substr(0, dot);
}

OpenedPackage open_checked_parts(const std::vector<std::string>& paths, const std::string& name, bool look_for_extra) {
  const std::string first_label = fmt::format("part 1 ({})", paths.front());
  UniqueFd first(open_for_reading(paths.front()));
  const PartHeader head = *read_part_header(first.get(), first_label, true);
  if (head.index != 1)
    fail(Errc::bad_input, "{} says it is part {} of {}, not the first: the parts are out of order (renamed?)", paths.front(),
         head.index, head.count);
  std::vector<std::string> all = paths;
  if (all.size() == 1 && look_for_extra)
    for (std::uint32_t i = 2; i <= head.count; ++i) all.push_back(part_path(name, i));
  if (all.size() != head.count)
    fail(Errc::bad_input, "package {} has {} parts but {} were given", name, head.count, all.size());
  std::vector<PartsStream::Range> ranges;
  for (std::uint32_t i = 1; i <= head.count; ++i) {
    const std::string& p = all[i - 1];
    const std::string label = fmt::format("part {} of {} ({})", i, head.count, p);
    if (!exists(p)) fail(Errc::not_found, "part {} of {} is missing ({})", i, head.count, p);
    auto fd = std::make_shared<UniqueFd>(i == 1 ? std::move(first) : open_for_reading(p));
    const PartHeader h = *read_part_header(fd->get(), label, true);
    if (h.identity != head.identity)
      fail(Errc::bad_input, "{} belongs to another package (its identity {} is not {})", label, h.identity.short_str(),
           head.identity.short_str());
    if (h.count != head.count) fail(Errc::bad_input, "{} says the package has {} parts, part 1 says {}", label, h.count, head.count);
    if (h.index != i)
      fail(Errc::bad_input, "{} is part {}: the parts are out of order (renamed?)", label, h.index);
    struct stat st{};
    if (::fstat(fd->get(), &st) != 0) fail_errno(p);
    const std::uint64_t expected = kPartHeaderBytes + h.data_bytes;
    if (static_cast<std::uint64_t>(st.st_size) < expected)
      fail(Errc::bad_input, "{} is truncated: it has {} bytes, its header says {}", label, st.st_size, expected);
    if (static_cast<std::uint64_t>(st.st_size) > expected)
      fail(Errc::bad_input, "{} has {} bytes after its data", label, static_cast<std::uint64_t>(st.st_size) - expected);
    const auto key = std::make_tuple(st.st_dev, st.st_ino, st.st_size, static_cast<std::int64_t>(st.st_ctim.tv_sec),
                                     static_cast<std::int64_t>(st.st_ctim.tv_nsec));
    bool known = false;
    {
      std::lock_guard lock(checked_mutex);
      known = checked_parts.count(key) > 0;
    }
    if (!known) {
      FileRangeStream data(fd, kPartHeaderBytes, h.data_bytes, label);
      Hasher hash;
      copy_stream(data, [&](const char* b, std::size_t n) { hash.update(b, n); });
      if (hash.finish().raw() != h.data_sha256)
        fail(Errc::integrity, "{} is damaged (its SHA-256 does not match)", label);
      std::lock_guard lock(checked_mutex);
      checked_parts.insert(key);
    }
    ranges.push_back({fd, kPartHeaderBytes, h.data_bytes, label});
  }
  if (look_for_extra && exists(part_path(name, head.count + 1)))
    fail(Errc::bad_input, "{} is an extra part: package {} has {} parts", part_path(name, head.count + 1), name, head.count);
  OpenedPackage out;
  out.stream = std::make_unique<PartsStream>(std::move(ranges));
  out.what = fmt::format("package {} ({} parts)", name, head.count);
  out.part_paths = all;
  out.identity = head.identity;
  return out;
}

}  // namespace

std::uint64_t parse_part_size(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t scale = 0;
  const std::string units[] = {"", "K", "M", "G", "T"};
  for (int i = 0; i < 5 && scale == 0; ++i) {
    std::uint64_t binary = 1, decimal = 1;
    for (int k = 0; k < i; ++k) binary *= 1024, decimal *= 1000;
    if (unit == units[i] || (i > 0 && unit == units[i] + "iB")) scale = binary;
    else if (i > 0 && unit == units[i] + "B") scale = decimal;
  }
  if (ec != std::errc() || end == text.data() || scale == 0 || n > (std::uint64_t{1} << 50) / scale)
    fail(Errc::usage, "'{}' is not a size (e.g. 4095M, 700MiB, 4GB, 1500000)", text);
  if (n * scale < kMinPartSize) fail(Errc::usage, "a part must hold at least {} bytes, not {}", kMinPartSize, n * scale);
  return n * scale;
}

std::unique_ptr<PackageStream> plain_package_stream(UniqueFd fd, std::string what) {
  return std::make_unique<PlainPackageStream>(std::move(fd), std::move(what));
}

std::string part_path(const std::string& package, std::uint32_t index) { return fmt::format("{}.{:03}", package, index); }

std::string encode_part_header(const PartHeader& h) {
  std::string out(reinterpret_cast<const char*>(kPartMagic.data()), kPartMagic.size());
  append_be(out, 1, 4);
  append_be(out, h.index, 4);
  append_be(out, h.count, 4);
  append_be(out, 0, 4);
  append_be(out, h.data_bytes, 8);
  out += h.identity.raw();
  out += h.data_sha256;
  out += raw_sha256(out);
  if (out.size() != kPartHeaderBytes) fail(Errc::internal, "a part header of {} bytes", out.size());
  return out;
}

OpenedPackage open_package(const std::string& path) {
  if (path == "-") {
    UniqueFd fd(::dup(0));
    if (!fd) fail_errno("standard input");
    return {plain_package_stream(std::move(fd), "package on standard input"), "package on standard input", {}, {}};
  }
  if (exists(path)) {
    UniqueFd fd = open_for_reading(path);
    const auto part = read_part_header(fd.get(), path, false);
    if (!part) return {plain_package_stream(std::move(fd), "package " + path), "package " + path, {}, {}};
    const auto base = base_of_part_name(path);
    if (!base) fail(Errc::bad_input, "{} is part {} of a split package, but not named PACKAGE.NNN", path, part->index);
    return open_checked_parts({part_path(*base, 1)}, *base, true);
  }
  if (exists(part_path(path, 1))) return open_checked_parts({part_path(path, 1)}, path, true);
  if (const auto base = base_of_part_name(path); base && exists(part_path(*base, 1)))
    return open_checked_parts({part_path(*base, 1)}, *base, true);
  for (const std::string& base : {path, base_of_part_name(path).value_or(path)})
    if (exists(part_path(base, 2)))
      fail(Errc::not_found, "part 1 of split package {} is missing ({})", base, part_path(base, 1));
  fail(Errc::not_found, "{}: no such package (nor {})", path, part_path(path, 1));
}

OpenedPackage open_package_parts(const std::vector<std::string>& paths, const std::string& name) {
  return open_checked_parts(paths, name, false);
}

void check_package_identity(const OpenedPackage& package, const Digest& header_digest) {
  if (!package.part_paths.empty() && package.identity != header_digest)
    fail(Errc::bad_input, "{}: its parts name package {}, but its header is {}", package.what, package.identity.short_str(),
         header_digest.short_str());
}

std::vector<std::string> existing_parts(const std::string& package) {
  std::vector<std::string> out;
  for (std::uint32_t i = 1; i <= kMaxParts && exists(part_path(package, i)); ++i) out.push_back(part_path(package, i));
  return out;
}

}  // namespace dd
