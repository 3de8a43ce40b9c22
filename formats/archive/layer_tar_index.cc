#include "formats/archive/layer_tar_index.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include "core/error.h"
#include "formats/archive/plain_tar_reader.h"

namespace dd {

LayerTarIndex index_layer_tar(const UniqueFd& file, std::uint64_t offset, std::uint64_t size, const Limits& limits,
                              const std::string& what) {
  // libarchive reads through its own descriptor so the caller's file offset is left alone.
  UniqueFd fd(::dup(file.get()));
  // Offsets libarchive reports are then relative to the layer's start.
  if (!fd || ::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) != static_cast<off_t>(offset)) fail_errno(what);
  PlainTarReader reader;
  archive* a = reader.a;
  if (archive_read_open_fd(a, fd.get(), 64 * 1024) != ARCHIVE_OK)
    fail(Errc::bad_input, "{} is not a tar archive: {}", what, archive_message(a));
  LayerTarIndex index;
  index.size = size;
  std::uint64_t next_header = 0;  // a member's headers start where the previous member's data ends
  std::uint64_t name_bytes = 0;
  for (;;) {
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (static_cast<std::uint64_t>(archive_filter_bytes(a, 0)) > size)
      fail(Errc::bad_input, "{} has no end-of-archive marker within its {} bytes", what, size);
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      fail(Errc::bad_input, "{} is truncated or damaged: {}", what, archive_message(a));
    if (index.members.size() >= limits.max_archive_members)
      fail(Errc::limit, "{} has more than {} members", what, limits.max_archive_members);
    LayerMember m;
    const char* name = archive_entry_pathname(e);
    m.path = name ? name : "";
    if (m.path.size() > limits.max_member_name)
      fail(Errc::limit, "{}: a member name is longer than {} bytes", what, limits.max_member_name);
    name_bytes += m.path.size();
    if (name_bytes > limits.max_name_bytes)
      fail(Errc::limit, "{}: its member names add up to more than {} bytes", what, limits.max_name_bytes);
    if (m.path.rfind("./", 0) == 0) m.path.erase(0, 2);
    m.header_offset = next_header;
    m.data_offset = static_cast<std::uint64_t>(archive_filter_bytes(a, 0));
    m.regular = archive_entry_filetype(e) == AE_IFREG && archive_entry_hardlink(e) == nullptr &&
                archive_entry_size_is_set(e) && archive_entry_sparse_count(e) == 0;
    m.size = m.regular ? static_cast<std::uint64_t>(archive_entry_size(e)) : 0;
    if (const char* link = archive_entry_hardlink(e)) m.link_target = link;
    if (m.data_offset < m.header_offset || m.data_offset + m.size > size)
      fail(Errc::bad_input, "{} is truncated: member '{}' runs past the end", what, m.path);
    // Where the member really ends: past any data its type carries (a sparse map, a hard link
    // with data), so that [header_offset, end_offset) is the whole member.
    if (archive_read_data_skip(a) != ARCHIVE_OK)
      fail(Errc::bad_input, "{} is truncated or damaged in member '{}': {}", what, m.path, archive_message(a));
    m.end_offset = static_cast<std::uint64_t>(archive_filter_bytes(a, 0));
    if (m.end_offset < m.data_offset + m.size || m.end_offset > size)
      fail(Errc::bad_input, "{} is truncated: member '{}' runs past the end", what, m.path);
    next_header = m.end_offset;
    index.members.push_back(std::move(m));
  }
  return index;
}

}  // namespace dd
