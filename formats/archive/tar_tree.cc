#include "formats/archive/tar_tree.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/temp_file.h"
#include "formats/archive/plain_tar_reader.h"
#include "formats/compression/compression.h"

namespace dd {
namespace {

// Decompresses the archive into an anonymous temporary file (unlinked at once, so nothing is
// left behind however the run ends). The expansion limit bounds what a hostile archive can cost.
std::shared_ptr<UniqueFd> spool_decompressed(const std::string& path, Compression c, const RunContext& ctx) {
  UniqueFd out = make_unlinked_temp_file(ctx.temp_dir);
  auto in = std::make_shared<UniqueFd>(open_for_reading(path));
  struct stat st{};
  fstat(in->get(), &st);
  FileRangeStream raw(in, 0, static_cast<std::uint64_t>(st.st_size), "archive " + path);
  DecompressingStream plain(raw, c, ctx.limits.expansion, "archive " + path);
  log::verbose("decompressing {} archive {} to a temporary file", to_string(c), path);
  copy_stream(plain, [&](const char* d, std::size_t n) { write_all(out.get(), d, n, "temporary archive"); });
  return std::make_shared<UniqueFd>(std::move(out));
}

}  // namespace

std::unique_ptr<TarTree> TarTree::open_archive(const std::string& path, const RunContext& ctx) {
  auto fd = std::make_shared<UniqueFd>(open_for_reading(path));
  struct stat st{};
  if (fstat(fd->get(), &st) != 0) fail_errno(path);
  if (!S_ISREG(st.st_mode)) fail(Errc::bad_input, "{} is not a regular file", path);
  char magic[kMagicBytes] = {};
  const ssize_t got = pread(fd->get(), magic, sizeof magic, 0);
  const Compression c = detect_compression(std::string_view(magic, got > 0 ? static_cast<std::size_t>(got) : 0));
  if (c == Compression::bzip2 || c == Compression::xz)
    fail(Errc::unsupported, "{} is compressed with {}; decompress it first (gzip and zstd are read directly)", path, to_string(c));
  if (c != Compression::none) fd = spool_decompressed(path, c, ctx);
  std::unique_ptr<TarTree> tree(new TarTree(path, std::move(fd), ctx.limits));
  tree->build_index();
  return tree;
}

TarTree::TarTree(std::string path, std::shared_ptr<UniqueFd> fd, const Limits& limits)
    : path_(std::move(path)), fd_(std::move(fd)), limits_(limits) {}

void TarTree::build_index() {
  struct stat st{};
  if (fstat(fd_->get(), &st) != 0) fail_errno(path_);
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  if (lseek(fd_->get(), 0, SEEK_SET) != 0) fail_errno(path_);

  PlainTarReader r;
  // The fd is not owned by libarchive; it uses lseek to skip member data.
  if (archive_read_open_fd(r.a, fd_->get(), 64 * 1024) != ARCHIVE_OK)
    fail(Errc::bad_input, "{} is not a tar archive: {}", path_, archive_message(r.a));

  std::map<std::string, std::vector<Member>> all;
  std::size_t count = 0;
  std::uint64_t name_bytes = 0;
  for (;;) {
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(r.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {  // RETRY (bad checksum) is damage too
      if (count == 0) fail(Errc::bad_input, "{} is not a tar archive: {}", path_, archive_message(r.a));
      fail(Errc::bad_input, "{} is truncated or damaged: {}", path_, archive_message(r.a));
    }
    if (++count > limits_.max_archive_members)
      fail(Errc::limit, "{} has more than {} members", path_, limits_.max_archive_members);
    const char* raw_name = archive_entry_pathname(e);
    if (raw_name == nullptr) fail(Errc::bad_input, "{}: a member has no name", path_);
    // Names are kept in the index, so their length is bounded like everything else we hold.
    const char* link = archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e);
    if (std::strlen(raw_name) > limits_.max_member_name || (link && std::strlen(link) > limits_.max_member_name))
      fail(Errc::limit, "{}: a member name or link target is longer than {} bytes", path_, limits_.max_member_name);
    name_bytes += std::strlen(raw_name) + (link ? std::strlen(link) : 0);
    if (name_bytes > limits_.max_name_bytes)
      fail(Errc::limit, "{}: its member names add up to more than {} bytes", path_, limits_.max_name_bytes);
    const std::string what = fmt::format("{} member", path_);
    if (std::string_view(raw_name).find_first_not_of("./") == std::string_view::npos) continue;  // the root itself
    // Members whose names are unsafe are never looked up by a safe path; skip them unless the
    // image refers to them, in which case the lookup itself fails and names the path.
    std::string name;
    try {
      name = normalize_member_path(raw_name, what);
    } catch (const Error&) {
      log::verbose("{}: ignoring unsafe member name '{}'", path_, raw_name);
      continue;
    }
    Member m;
    // Bytes consumed by the tar reader so far = where this member's data begins.
    m.offset = static_cast<std::uint64_t>(archive_filter_bytes(r.a, 0));
    m.size = static_cast<std::uint64_t>(archive_entry_size(e));
    if (const char* hl = archive_entry_hardlink(e)) {
      m.kind = Kind::hardlink;
      m.target = normalize_member_path(hl, fmt::format("{} hard link '{}'", path_, name));
      m.size = 0;
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFREG: m.kind = Kind::file; break;
        case AE_IFLNK:
          m.kind = Kind::symlink;
          m.target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
          break;
        case AE_IFDIR: m.kind = Kind::directory; break;
        default: m.kind = Kind::other; break;
      }
    }
    if (m.kind == Kind::file) {
      if (archive_entry_sparse_count(e) > 0)
        fail(Errc::unsupported, "{}: member '{}' is a sparse file", path_, name);
      if (m.offset + m.size > file_size_)
        fail(Errc::bad_input, "{} is truncated: member '{}' needs {} bytes past the end", path_, name,
             m.offset + m.size - file_size_);
    }
    all[name].push_back(m);
  }
  check_duplicates(all);
  for (auto& [name, list] : all) members_.emplace(name, std::move(list.back()));
}

Digest TarTree::hash_member(const Member& m, const std::string& name) const {
  FileRangeStream s(fd_, m.offset, m.size, fmt::format("{} member '{}'", path_, name));
  Hasher h;
  copy_stream(s, [&](const char* d, std::size_t n) { h.update(d, n); });
  return h.finish();
}

// A name that appears twice must mean the same thing both times, or which one an image gets
// would depend on the reader.
void TarTree::check_duplicates(const std::map<std::string, std::vector<Member>>& all) {
  for (const auto& [name, list] : all) {
    if (list.size() < 2) continue;
    const Member& first = list.front();
    for (const Member& other : list) {
      bool same = other.kind == first.kind && other.size == first.size && other.target == first.target;
      if (same && first.kind == Kind::file && first.size > 0)
        same = hash_member(first, name) == hash_member(other, name);
      if (!same)
        fail(Errc::bad_input, "{} has duplicate members named '{}' with different content", path_, name);
    }
  }
}

TreeFile TarTree::resolve(const std::string& path, int hops) const {
  if (hops > limits_.max_symlink_hops)
    fail(Errc::bad_input, "{}: too many levels of links resolving '{}'", path_, path);
  // Walk the components so a symlinked directory in the middle of the path is followed too.
  std::size_t pos = 0;
  while (true) {
    const auto slash = path.find('/', pos);
    const std::string prefix = path.substr(0, slash);
    auto it = members_.find(prefix);
    if (it != members_.end()) {
      const Member& m = it->second;
      const std::string rest = slash == std::string::npos ? "" : path.substr(slash);
      if (m.kind == Kind::symlink) return resolve(resolve_link_target(prefix, m.target) + rest, hops + 1);
      if (m.kind == Kind::hardlink) return resolve(m.target + rest, hops + 1);
      if (slash == std::string::npos) {
        if (m.kind != Kind::file) fail(Errc::bad_input, "{}: '{}' is not a regular file", path_, path);
        return TreeFile{path, m.size, m.offset};
      }
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  fail(Errc::not_found, "{} has no member '{}'", path_, path);
}

TreeFile TarTree::find(std::string_view path) const {
  return resolve(normalize_member_path(path, describe()), 0);
}

std::unique_ptr<ByteStream> TarTree::open(const TreeFile& file) const {
  return std::make_unique<FileRangeStream>(fd_, file.offset, file.size,
                                           fmt::format("{} member '{}'", path_, file.path));
}

std::vector<std::string> TarTree::member_names() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : members_) out.push_back(name);
  return out;
}

}  // namespace dd
