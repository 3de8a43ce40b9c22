#include "stores/package_file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "core/byte_stream.h"
#include "core/durable_file.h"
#include "core/error.h"
#include "core/log.h"
#include "delta/delta_package.h"

namespace dd {
namespace {

bool exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

void pwrite_all(int fd, const char* data, std::size_t size, off_t at, const std::string& what) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, at + static_cast<off_t>(done));
    if (n < 0) fail_errno(what);
    done += static_cast<std::size_t>(n);
  }
}
void pwrite_all(int fd, const std::string& bytes, off_t at, const std::string& what) {
  pwrite_all(fd, bytes.data(), bytes.size(), at, what);
}

// Removed only when it is a package or a part: --force never deletes anything else.
bool looks_like_package(const std::string& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  unsigned char magic[8];
  if (!fd || ::read(fd.get(), magic, sizeof magic) != static_cast<ssize_t>(sizeof magic)) return false;
  return std::memcmp(magic, kPackageMagic.data(), 8) == 0 || std::memcmp(magic, kPartMagic.data(), 8) == 0;
}

}  // namespace

PackageFileWriter::PackageFileWriter(std::string package, std::uint64_t split_size, bool force)
    : package_(std::move(package)), split_size_(split_size), force_(force) {
  if (!force_) {
    if (exists(package_)) fail(Errc::exists, "{} exists (use --force to replace it)", package_);
    if (exists(part_path(package_, 1)))
      fail(Errc::exists, "{} exists: a split package of that name (use --force to replace it)", part_path(package_, 1));
  }
  if (split_size_ != 0 && split_size_ <= kPartHeaderBytes) fail(Errc::usage, "--split {} is too small", split_size_);
}

PackageFileWriter::~PackageFileWriter() = default;

void PackageFileWriter::begin(std::uint64_t total, const Digest& identity) {
  total_ = total;
  identity_ = identity;
  if (split_size_ == 0) {
    files_.push_back(std::make_unique<AtomicDestination>(package_, OutputContent::delta_package, force_));
    final_paths_ = {package_};
    return;
  }
  part_capacity_ = split_size_ - kPartHeaderBytes;
  const std::uint64_t count = std::max<std::uint64_t>(1, (total + part_capacity_ - 1) / part_capacity_);
  if (count > kMaxParts) fail(Errc::usage, "--split {} would make {} parts, more than {}: give a larger size", split_size_, count, kMaxParts);
  for (std::uint32_t i = 1; i <= count; ++i) {
    files_.push_back(std::make_unique<AtomicDestination>(part_path(package_, i), OutputContent::delta_package, force_));
    final_paths_.push_back(part_path(package_, i));
    const std::uint64_t bytes = std::min(part_capacity_, total - (i - 1) * part_capacity_);
    part_sizes_.push_back(bytes);
    // The header is written last, when the data's hash is known: zeros hold its place.
    pwrite_all(files_.back()->temp_fd(), std::string(kPartHeaderBytes, '\0'), 0, files_.back()->temp_path());
  }
  part_hash_ = std::make_unique<Hasher>();
}

void PackageFileWriter::write(const char* data, std::size_t size) {
  if (written_ + size > total_) fail(Errc::internal, "{}: more bytes than the package's {}", package_, total_);
  while (size > 0) {
    const int fd = files_.at(part_).get()->temp_fd();
    std::size_t n = size;
    if (split_size_ != 0) {
      if (part_bytes_ == part_sizes_[part_]) {
        end_part();
        continue;
      }
      n = static_cast<std::size_t>(std::min<std::uint64_t>(size, part_sizes_[part_] - part_bytes_));
      part_hash_->update(data, n);
      pwrite_all(fd, data, n, static_cast<off_t>(kPartHeaderBytes + part_bytes_), files_[part_]->temp_path());
    } else {
      pwrite_all(fd, data, n, static_cast<off_t>(written_), files_[part_]->temp_path());
    }
    part_bytes_ += n;
    written_ += n;
    data += n;
    size -= n;
  }
}

void PackageFileWriter::end_part() {
  PartHeader h;
  h.index = static_cast<std::uint32_t>(part_ + 1);
  h.count = static_cast<std::uint32_t>(files_.size());
  h.data_bytes = part_bytes_;
  h.identity = identity_;
  h.data_sha256 = part_hash_->finish().raw();
  pwrite_all(files_[part_]->temp_fd(), encode_part_header(h), 0, files_[part_]->temp_path());
  part_hash_ = std::make_unique<Hasher>();
  part_bytes_ = 0;
  ++part_;
}

void PackageFileWriter::finish() {
  if (written_ != total_) fail(Errc::internal, "{}: {} bytes written of {}", package_, written_, total_);
  if (split_size_ != 0) {
    while (part_ < files_.size()) end_part();  // the last part (and an empty package's only part)
  }
  for (const auto& f : files_) sync_fd(f->temp_fd(), f->temp_path());
}

OpenedPackage PackageFileWriter::reopen() const {
  if (split_size_ == 0) {
    const std::string what = "the package just written (" + package_ + ")";
    return {plain_package_stream(open_for_reading(files_.front()->temp_path()), what), what, {}, {}};
  }
  std::vector<std::string> temps;
  for (const auto& f : files_) temps.push_back(f->temp_path());
  OpenedPackage opened = open_package_parts(temps, package_);
  opened.what = "the package just written (" + package_ + ")";
  return opened;
}

void PackageFileWriter::commit() {
  for (const auto& f : files_) f->commit();
  // What an earlier package of this name left that would now confuse a reader.
  std::vector<std::string> stale;
  if (split_size_ != 0) {
    if (exists(package_)) stale.push_back(package_);
    for (std::uint32_t i = static_cast<std::uint32_t>(files_.size()) + 1; i <= kMaxParts && exists(part_path(package_, i)); ++i)
      stale.push_back(part_path(package_, i));
  } else {
    stale = existing_parts(package_);
  }
  for (const auto& p : stale) {
    if (!looks_like_package(p)) {
      log::info("left {} alone: it is not a docker_delta package", p);
      continue;
    }
    if (::unlink(p.c_str()) != 0) log::info("could not remove {}, left by an earlier package: {}", p, std::strerror(errno));
    else log::verbose("removed {}, left by an earlier package of that name", p);
  }
  if (!stale.empty()) sync_parent_directory(package_);
}

std::vector<std::string> PackageFileWriter::paths() const { return final_paths_; }

}  // namespace dd
