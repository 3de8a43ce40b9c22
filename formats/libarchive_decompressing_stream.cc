#include "formats/libarchive_decompressing_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include "pipeline/error.h"

namespace dd {

LibarchiveDecompressingStream::LibarchiveDecompressingStream(std::unique_ptr<ByteStream> source,
                                                             Compression compression, ExpansionLimit limit,
                                                             std::string what)
    : source_(std::move(source)), compression_(compression), what_(std::move(what)), meter_(std::move(limit), what_),
      block_(256 * 1024) {}

LibarchiveDecompressingStream::~LibarchiveDecompressingStream() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

long LibarchiveDecompressingStream::read_callback(struct archive*, void* self, const void** block) {
  auto* s = static_cast<LibarchiveDecompressingStream*>(self);
  try {
    const std::size_t n = s->source_->read(s->block_.data(), s->block_.size());
    s->meter_.add_input(n);
    *block = s->block_.data();
    return static_cast<long>(n);
  } catch (...) {
    s->source_error_ = std::current_exception();
    return -1;
  }
}

void LibarchiveDecompressingStream::open() {
  opened_ = true;
  archive_ = archive_read_new();
  // Only the detected filter: filter_all would also unwrap compression nested inside, and may
  // hand untrusted bytes to external programs.
  if (compression_ == Compression::bzip2) archive_read_support_filter_bzip2(archive_);
  else if (compression_ == Compression::xz) archive_read_support_filter_xz(archive_);
  else fail(Errc::internal, "{}: libarchive is used only for bzip2 and xz", what_);
  archive_read_support_format_raw(archive_);  // the decompressed bytes as one entry
  if (archive_read_open(archive_, this, nullptr, &read_callback, nullptr) != ARCHIVE_OK) {
    if (source_error_) std::rethrow_exception(source_error_);
    fail(Errc::bad_input, "{}: cannot decompress: {}", what_, archive_error_string(archive_));
  }
  archive_entry* entry = nullptr;
  if (archive_read_next_header(archive_, &entry) != ARCHIVE_OK) {
    if (source_error_) std::rethrow_exception(source_error_);
    fail(Errc::bad_input, "{}: cannot decompress: {}", what_, archive_error_string(archive_));
  }
  // The client reader plus exactly one decompression filter.
  if (archive_filter_count(archive_) != 2)
    fail(Errc::bad_input, "{} is not {} data", what_, to_string(compression_));
}

std::size_t LibarchiveDecompressingStream::read(char* buffer, std::size_t size) {
  if (done_) return 0;
  if (!opened_) open();
  const la_ssize_t n = archive_read_data(archive_, buffer, size);
  if (n < 0) {
    if (source_error_) std::rethrow_exception(source_error_);
    fail(Errc::bad_input, "{} is damaged or truncated: {}", what_, archive_error_string(archive_));
  }
  if (n == 0) {
    // libarchive may stop reading once the compressed stream ends. Anything after it must not
    // exist, and the source must reach its end so its own checks (stored digest) run.
    if (source_->read(block_.data(), block_.size()) != 0)
      fail(Errc::bad_input, "{} has data after the end of its {} stream", what_, to_string(compression_));
    done_ = true;
    return 0;
  }
  meter_.add_output(static_cast<std::uint64_t>(n));
  return static_cast<std::size_t>(n);
}

}  // namespace dd
