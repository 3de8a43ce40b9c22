#include "formats/archive/tar_rewriter.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <exception>
#include <vector>

#include "core/error.h"
#include "core/printable.h"
#include "formats/archive/libarchive_bridge.h"
#include "formats/archive/plain_tar_reader.h"

namespace dd {
namespace {

struct Archives {
  struct archive* reader = archive_read_new();
  struct archive* writer = archive_write_new();
  ~Archives() {
    archive_read_free(reader);
    archive_write_free(writer);
  }
};

// Nothing real comes near it; a forged base-256 size field claims up to 2^95.
constexpr la_int64_t kMaxMemberSize = la_int64_t(1) << 40;
// Holes of sparse members are written out as zeros (docker's tar reader wants no sparse
// entries), so they cost what they claim: beyond this the layer is refused, not expanded.
constexpr std::uint64_t kMaxHoleBytes = 1ull << 30;

// The bytes a sparse member's holes would add when written out in full.
std::uint64_t hole_bytes(archive_entry* entry) {
  const int regions = archive_entry_sparse_reset(entry);
  if (regions <= 0) return 0;
  la_int64_t offset = 0, length = 0, data = 0;
  while (archive_entry_sparse_next(entry, &offset, &length) == ARCHIVE_OK) {
    if (length < 0 || offset < 0) return UINT64_MAX;
    data += length;
  }
  const la_int64_t size = archive_entry_size(entry);
  return size > data ? static_cast<std::uint64_t>(size - data) : 0;
}

}  // namespace

void rewrite_tar(ByteStream& in, const EntryEditor& edit, const ByteSink& out, const std::string& what) {
  LibarchiveBridge bridge;
  Archives a;
  auto check = [&](int rc, struct archive* which, const char* doing) {
    bridge.rethrow_if_failed();
    if (rc < ARCHIVE_WARN) fail(Errc::bad_input, "{}: {} failed: {}", what, doing, archive_message(which));
  };
  archive_read_support_format_tar(a.reader);
  archive_read_support_filter_none(a.reader);
  check(bridge.open_reader(a.reader, in), a.reader, "reading the tar");
  archive_write_set_format_pax_restricted(a.writer);
  archive_write_set_bytes_in_last_block(a.writer, 1);  // no padding to 10 KiB: the tar ends where it ends
  check(bridge.open_writer(a.writer, out), a.writer, "writing the tar");

  std::vector<char> data(kBlockSize);
  std::uint64_t holes = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a.reader, &entry);
    if (rc == ARCHIVE_EOF) break;
    check(rc, a.reader, "reading a tar header");
    const char* name = archive_entry_pathname(entry);
    const std::string member = printable(name ? name : "?");
    if (archive_entry_size_is_set(entry) && (archive_entry_size(entry) < 0 || archive_entry_size(entry) > kMaxMemberSize))
      fail(Errc::bad_input, "{}: member '{}' claims a size of {} bytes, beyond any real layer", what, member,
           archive_entry_size(entry));
    holes += hole_bytes(entry);
    if (holes > kMaxHoleBytes)
      fail(Errc::limit, "{}: sparse members ('{}') claim holes of more than {} bytes, which would be written out as zeros",
           what, member, kMaxHoleBytes);
    archive_entry_sparse_clear(entry);  // holes are read back as zeros and written out in full
    if (!edit(entry)) {
      check(archive_read_data_skip(a.reader), a.reader, "skipping tar data");
      continue;
    }
    check(archive_write_header(a.writer, entry), a.writer, "writing a tar header");
    for (;;) {
      const la_ssize_t n = archive_read_data(a.reader, data.data(), data.size());
      check(n < 0 ? static_cast<int>(n) : ARCHIVE_OK, a.reader, "reading tar data");
      if (n == 0) break;
      const la_ssize_t w = archive_write_data(a.writer, data.data(), static_cast<size_t>(n));
      check(w < 0 ? static_cast<int>(w) : ARCHIVE_OK, a.writer, "writing tar data");
    }
  }
  check(archive_write_close(a.writer), a.writer, "finishing the tar");
}

}  // namespace dd
