#include "formats/libarchive_compressor.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <string>

#include "pipeline/error.h"

namespace dd {
namespace {

class LibarchiveCompressor : public Compressor {
 public:
  LibarchiveCompressor(Compression c, int level) : a_(archive_write_new()) {
    const int rc = c == Compression::xz ? archive_write_add_filter_xz(a_) : archive_write_add_filter_bzip2(a_);
    if (rc != ARCHIVE_OK) fail(Errc::unsupported, "cannot write {}: {}", to_string(c), archive_error_string(a_));
    if (level != 0) {
      const std::string text = std::to_string(std::clamp(level, 1, 9));
      archive_write_set_filter_option(a_, nullptr, "compression-level", text.c_str());
    }
    archive_write_set_format_raw(a_);
    // No blocking: tar-style padding after the last block would corrupt a raw stream.
    archive_write_set_bytes_per_block(a_, 0);
    if (archive_write_open(a_, this, nullptr, &LibarchiveCompressor::write_callback, nullptr) != ARCHIVE_OK)
      fail(Errc::internal, "{} compressor: {}", to_string(c), archive_error_string(a_));
    archive_entry* e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_pathname(e, "layer");
    const int header = archive_write_header(a_, e);
    archive_entry_free(e);
    if (header != ARCHIVE_OK) fail(Errc::internal, "{} compressor: {}", to_string(c), archive_error_string(a_));
  }
  ~LibarchiveCompressor() override { archive_write_free(a_); }

  void feed(const char* data, std::size_t size, const ByteSink& sink) override {
    sink_ = &sink;
    while (size > 0) {
      const la_ssize_t n = archive_write_data(a_, data, size);
      if (n <= 0) fail(Errc::internal, "compressor: {}", archive_error_string(a_));
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    sink_ = nullptr;
  }
  void finish(const ByteSink& sink) override {
    sink_ = &sink;
    if (archive_write_close(a_) != ARCHIVE_OK) fail(Errc::internal, "compressor: {}", archive_error_string(a_));
    sink_ = nullptr;
  }

 private:
  static la_ssize_t write_callback(archive*, void* self, const void* buffer, size_t length) {
    auto* me = static_cast<LibarchiveCompressor*>(self);
    if (me->sink_ != nullptr) (*me->sink_)(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  }
  archive* a_;
  const ByteSink* sink_ = nullptr;
};

}  // namespace

std::unique_ptr<Compressor> make_libarchive_compressor(Compression c, int level) {
  if (c != Compression::bzip2 && c != Compression::xz) fail(Errc::internal, "libarchive compressor for {}", to_string(c));
  return std::make_unique<LibarchiveCompressor>(c, level);
}

}  // namespace dd
