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
  LibarchiveDecompressingStream s(std::make_unique<MemoryStream>(packed), limit, "test layer");
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

}  // namespace
}  // namespace dd
