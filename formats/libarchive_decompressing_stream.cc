#include "formats/libarchive_decompressing_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include "pipeline/error.h"

namespace dd {

LibarchiveDecompressingStream::LibarchiveDecompressingStream(std::unique_ptr<ByteStream> source,
                                                             ExpansionLimit limit, std::string what)
    : source_(std::move(source)), limit_(limit), what_(std::move(what)), block_(256 * 1024) {}

LibarchiveDecompressingStream::~LibarchiveDecompressingStream() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

long LibarchiveDecompressingStream::read_callback(struct archive*, void* self, const void** block) {
  auto* s = static_cast<LibarchiveDecompressingStream*>(self);
  try {
    const std::size_t n = s->source_->read(s->block_.data(), s->block_.size());
    s->in_ += n;
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
  archive_read_support_filter_all(archive_);
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
    done_ = true;
    return 0;
  }
  out_ += static_cast<std::uint64_t>(n);
  if (limit_.enabled() && out_ > limit_.floor_bytes && static_cast<double>(out_) > limit_.ratio * static_cast<double>(in_))
    fail(Errc::limit, "{} expands beyond {:.0f} times its compressed size (raise --max-expansion to allow it)", what_,
         limit_.ratio);
  return static_cast<std::size_t>(n);
}

}  // namespace dd
