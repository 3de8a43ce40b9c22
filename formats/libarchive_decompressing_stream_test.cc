#include "formats/libarchive_decompressing_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include "pipeline/error.h"

namespace dd {
namespace {

// Compresses with one of libarchive's write filters (ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_BZIP2).
std::string compress_with(int filter, const std::string& data) {
  archive* a = archive_write_new();
  archive_write_add_filter(a, filter);
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::vector<char> out(data.size() + 65536);
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return std::string(out.data(), used);
}

std::string decompress(const std::string& packed, ExpansionLimit limit = {}) {
  LibarchiveDecompressingStream s(std::make_unique<MemoryStream>(packed), detect_compression(packed), limit, "test layer");
  return read_capped(s, 1 << 26, "test");
}

TEST(LibarchiveDecompressingStream, ReadsXzAndBzip2) {
  const std::string data = std::string(200000, 'x') + "tail";
  for (int filter : {ARCHIVE_FILTER_XZ, ARCHIVE_FILTER_BZIP2}) {
    const std::string packed = compress_with(filter, data);
    EXPECT_NE(detect_compression(packed), Compression::none);
    EXPECT_EQ(decompress(packed), data) << filter;
  }
}

TEST(LibarchiveDecompressingStream, TruncationFails) {
  std::string data(300000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) % 251);
  const std::string packed = compress_with(ARCHIVE_FILTER_XZ, data);
  EXPECT_THROW(decompress(packed.substr(0, packed.size() / 2)), Error);
}

TEST(LibarchiveDecompressingStream, ExpansionLimitApplies) {
  const std::string packed = compress_with(ARCHIVE_FILTER_XZ, std::string(32 << 20, '\0'));
  try {
    decompress(packed, ExpansionLimit{10, 1 << 20});
    FAIL() << "bomb not stopped";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::limit);
  }
}

// A source whose end-of-stream check fails, like a stored digest that does not match.
class FailsAtEnd : public ByteStream {
 public:
  explicit FailsAtEnd(std::string bytes) : inner_(std::move(bytes)) {}
  std::size_t read(char* buffer, std::size_t size) override {
    const std::size_t n = inner_.read(buffer, size);
    if (n == 0) fail(Errc::integrity, "end-of-stream check ran");
    return n;
  }

 private:
  MemoryStream inner_;
};

TEST(LibarchiveDecompressingStream, ReadsItsSourceToTheEndSoItsChecksRun) {
  for (int filter : {ARCHIVE_FILTER_BZIP2, ARCHIVE_FILTER_XZ}) {
    const std::string packed = compress_with(filter, std::string(5000, 'y'));
    LibarchiveDecompressingStream s(std::make_unique<FailsAtEnd>(packed), detect_compression(packed), {}, "layer");
    EXPECT_THROW(read_capped(s, 1 << 20, "layer"), Error) << filter;
  }
}

TEST(LibarchiveDecompressingStream, NestedCompressionIsNotUnwrapped) {
  const std::string inner = compress_with(ARCHIVE_FILTER_GZIP, std::string(5000, 'z'));
  EXPECT_EQ(decompress(compress_with(ARCHIVE_FILTER_XZ, inner)), inner);
}

}  // namespace
}  // namespace dd
