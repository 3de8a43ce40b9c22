#include "formats/archive/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cerrno>

#include <memory>

#include "core/error.h"

namespace dd {
namespace {

using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

// An entry with everything that could differ between machines or runs set to fixed values.
EntryPtr deterministic_entry(const std::string& name, unsigned type, unsigned permissions) {
  EntryPtr entry(archive_entry_new(), &archive_entry_free);
  if (!entry) fail(Errc::internal, "out of memory creating tar entry {}", name);
  archive_entry_set_pathname_utf8(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), permissions);
  archive_entry_set_mtime(entry.get(), 0, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  return entry;
}

}  // namespace

TarWriter::TarWriter(const std::string& path) : path_(path), archive_(archive_write_new()) {
  if (archive_ == nullptr) fail(Errc::internal, "out of memory creating tar writer for {}", path_);
  // pax_restricted is plain ustar unless a name or size needs a pax header: what docker and
  // skopeo read without surprises.
  try {
    if (archive_write_set_format_pax_restricted(archive_) != ARCHIVE_OK) fail_archive("choosing the tar format");
    if (archive_write_open_filename(archive_, path_.c_str()) != ARCHIVE_OK) fail_archive("opening");
  } catch (...) {
    free_unopened();  // no destructor runs for an object whose constructor threw
    throw;
  }
}

TarWriter::TarWriter(const std::string& name, Sink sink)
    : path_(name), archive_(archive_write_new()) {
  if (archive_ == nullptr) fail(Errc::internal, "out of memory creating tar writer for {}", path_);
  try {
    if (archive_write_set_format_pax_restricted(archive_) != ARCHIVE_OK) fail_archive("choosing the tar format");
    // Bigger blocks than tar's 10 KiB: fewer, larger writes into the sink. Bytes in the last
    // block: 1, so the end is not padded beyond the two zero records.
    archive_write_set_bytes_per_block(archive_, 1 << 16);
    archive_write_set_bytes_in_last_block(archive_, 1);
    if (bridge_.open_writer(archive_, std::move(sink)) != ARCHIVE_OK)
      fail_archive("opening");
  } catch (...) {
    free_unopened();
    throw;
  }
}

void TarWriter::free_unopened() noexcept {
  archive_write_free(archive_);
  archive_ = nullptr;
}

TarWriter::~TarWriter() {
  // Abandoned (an error mid-way): mark the archive failed first, or closing would pad the
  // unfinished entry with zeros up to its declared size, however absurd that size is.
  if (archive_ != nullptr) {
    archive_write_fail(archive_);
    archive_write_free(archive_);
  }
}

void TarWriter::fail_archive(const std::string& doing) const {
  bridge_.rethrow_if_failed();
  const char* message = archive_ != nullptr ? archive_error_string(archive_) : nullptr;
  fail(Errc::io, "{}: {}: {}", path_, doing, message != nullptr ? message : "libarchive failed");
}

void TarWriter::write_header(archive_entry* entry, const std::string& name) {
  if (archive_ == nullptr) fail(Errc::internal, "{}: adding {} after close()", path_, name);
  // A warning here means the header could not say exactly what was asked (e.g. an untranslatable
  // name); for an image archive that is as bad as a failure.
  if (archive_write_header(archive_, entry) != ARCHIVE_OK) fail_archive("writing the header of " + name);
}

void TarWriter::finish_entry(const std::string& name) {
  if (archive_write_finish_entry(archive_) != ARCHIVE_OK) fail_archive("finishing " + name);
}

void TarWriter::add_file(const std::string& name, std::uint64_t size, ByteStream& body) {
  EntryPtr entry = deterministic_entry(name, AE_IFREG, 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
  write_header(entry.get(), name);

  buffer_.resize(kBlockSize);
  std::uint64_t written = 0;
  for (;;) {
    const std::size_t n = body.read(buffer_.data(), buffer_.size());
    if (n == 0) break;
    if (written + n > size)
      fail(Errc::internal, "{}: {} has more than its declared {} bytes", path_, name, size);
    const la_ssize_t rc = archive_write_data(archive_, buffer_.data(), n);
    if (rc < 0) fail_archive("writing " + name);
    if (static_cast<std::size_t>(rc) != n) fail(Errc::io, "{}: short write of {}", path_, name);
    written += n;
  }
  if (written != size)
    fail(Errc::internal, "{}: {} has {} bytes, {} declared", path_, name, written, size);
  finish_entry(name);
}

void TarWriter::add_file_from_path(const std::string& name, const std::string& path) {
  auto file = std::make_shared<UniqueFd>(open_for_reading(path));
  struct stat info {};
  if (::fstat(file->get(), &info) != 0) fail_errno(path);
  if (!S_ISREG(info.st_mode)) fail(Errc::internal, "{} is not a regular file", path);
  const auto size = static_cast<std::uint64_t>(info.st_size);
  FileRangeStream body(std::move(file), 0, size, path);
  add_file(name, size, body);
}

void TarWriter::add_directory(const std::string& name) {
  EntryPtr entry = deterministic_entry(name, AE_IFDIR, 0755);
  write_header(entry.get(), name);
  finish_entry(name);
}

void TarWriter::add_symlink(const std::string& name, const std::string& target) {
  EntryPtr entry = deterministic_entry(name, AE_IFLNK, 0777);
  archive_entry_set_symlink_utf8(entry.get(), target.c_str());
  write_header(entry.get(), name);
  finish_entry(name);
}

void TarWriter::close() {
  if (archive_ == nullptr) return;
  const int rc = archive_write_close(archive_);
  if (rc != ARCHIVE_OK) {
    const std::string message = archive_error_string(archive_) ? archive_error_string(archive_) : "libarchive failed";
    archive_write_free(archive_);
    archive_ = nullptr;
    bridge_.rethrow_if_failed();
    fail(Errc::io, "{}: closing: {}", path_, message);
  }
  archive_write_free(archive_);
  archive_ = nullptr;
}

}  // namespace dd
