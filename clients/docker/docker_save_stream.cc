#include "clients/docker/docker_save_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include <exception>
#include <vector>

#include "core/error.h"
#include "core/hashing_spool.h"
#include "core/log.h"
#include "core/printable.h"
#include "formats/archive/libarchive_bridge.h"
#include "formats/archive/plain_tar_reader.h"

namespace dd {
namespace {

// libarchive pulls the stream from here; an exception from the stream is kept and rethrown once
// the C call has returned, never thrown through libarchive's frames.
class SaveStreamReader {
 public:
  SaveStreamReader(ByteStream& stream, const Digest& image_id, const std::function<bool(const Digest&)>& wanted,
                   std::size_t wanted_count, const RunContext& ctx, const std::string& what)
      : stream_(stream), image_id_(image_id), wanted_(wanted), wanted_count_(wanted_count), ctx_(ctx), what_(what) {}

  SaveStreamContents read() {
    archive* a = tar_.a;
    if (bridge_.open_reader(a, stream_, 1 << 20) != ARCHIVE_OK) damaged(a);
    const std::string config_hex = image_id_.hex();
    std::size_t members = 0;
    for (;;) {
      archive_entry* e = nullptr;
      const int rc = archive_read_next_header(a, &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) damaged(a);
      if (++members > ctx_.limits.max_archive_members) fail(Errc::limit, "{}: too many members in the save stream", what_);
      const char* pathname = archive_entry_pathname(e);
      const std::string name = pathname ? pathname : "";
      if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
      const std::string base = name.substr(name.rfind('/') + 1);
      const bool blob = name.rfind("blobs/sha256/", 0) == 0;  // Docker 25+: named by digest
      if (name == config_hex + ".json" || (blob && base == config_hex)) {
        if (out_.config) continue;  // the same bytes again (their digest is the image ID)
        out_.config = read_small(a, name);
        if (Digest::sha256_of(*out_.config) != image_id_)
          fail(Errc::integrity, "{}: the config the daemon sent does not match the image ID", what_);
      } else if (blob) {
        if (auto d = digest_named(base); d && want(*d)) spool(a);
      } else if (name == base && name.size() == 68 && name.ends_with(".tar")) {
        // Podman names each layer file by its diff_id; spool() checks the bytes against it.
        if (auto d = digest_named(name.substr(0, 64)); d && want(*d)) spool(a);
      } else if (base == "layer.tar") {
        // Docker <= 24 names layer directories by legacy IDs: only the digest tells which layer
        // it is, so each is spooled and hashed, and dropped if not wanted (one at a time). Once
        // every wanted layer is in (at once, when none is: inspect), the rest is skipped unread.
        if (out_.layers.size() < wanted_count_) spool(a);
      }
    }
    return std::move(out_);
  }

 private:
  bool want(const Digest& d) const { return wanted_(d) && !out_.layers.count(d); }

  // A blob name that is not 64 lower-case hex digits is not one of the image's blobs.
  static std::optional<Digest> digest_named(const std::string& hex) {
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
    return Digest::parse("sha256:" + hex, "blob name");
  }

  std::string read_small(archive* a, const std::string& name) {
    std::string out;
    char buffer[65536];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
      if (n < 0) damaged(a);
      if (n == 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
      if (out.size() > ctx_.limits.max_json_bytes) fail(Errc::limit, "{}: {} is too large", what_, printable(name));
    }
    return out;
  }

  void spool(archive* a) {
    HashingSpool spool(ctx_.temp_dir);
    std::vector<char> buffer(1 << 20);
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
      if (n < 0) damaged(a);
      if (n == 0) break;
      spool.write(buffer.data(), static_cast<std::size_t>(n));
    }
    const HashingSpool::Result spooled = spool.finish();
    if (!want(spooled.digest)) return;  // another layer, or one not wanted
    log::verbose("{}: received layer {} ({} bytes)", what_, spooled.digest.short_str(), spooled.size);
    out_.layers.emplace(spooled.digest, SavedLayer{spooled.file, spooled.size});
  }

  [[noreturn]] void damaged(archive* a) {
    bridge_.rethrow_if_failed();
    fail(Errc::bad_input, "{}: the daemon's save stream is damaged: {}", what_, archive_message(a));
  }

  PlainTarReader tar_;
  ByteStream& stream_;
  LibarchiveBridge bridge_;
  const Digest& image_id_;
  const std::function<bool(const Digest&)>& wanted_;
  std::size_t wanted_count_;
  const RunContext& ctx_;
  const std::string& what_;
  SaveStreamContents out_;
};

}  // namespace

SaveStreamContents read_docker_save_stream(ByteStream& stream, const Digest& image_id,
                                           const std::function<bool(const Digest&)>& wanted, std::size_t wanted_count,
                                           const RunContext& ctx, const std::string& what) {
  return SaveStreamReader(stream, image_id, wanted, wanted_count, ctx, what).read();
}

}  // namespace dd
