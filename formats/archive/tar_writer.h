// Writes a tar file entry by entry, streaming each file's body. Entries are deterministic
// (mtime 0, owner 0:0, no user or group names, fixed modes) so equal content gives equal bytes.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/byte_stream.h"
#include "formats/archive/libarchive_bridge.h"

struct archive;
struct archive_entry;

namespace dd {

class TarWriter {
 public:
  // Creates (or truncates) the tar file at `path`.
  explicit TarWriter(const std::string& path);
  // Passes the tar's bytes to `sink` as they are made (`name` is for messages). What `sink`
  // throws is rethrown by the call that wrote.
  using Sink = std::function<void(const char*, std::size_t)>;
  TarWriter(const std::string& name, Sink sink);
  // Closes without reporting errors; call close() to find out whether the file is complete.
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Streams `size` bytes of `body` into a regular file entry (mode 0644). A body that yields a
  // different number of bytes is an error.
  void add_file(const std::string& name, std::uint64_t size, ByteStream& body);
  // A regular file entry with the content of the file at `path`.
  void add_file_from_path(const std::string& name, const std::string& path);
  void add_directory(const std::string& name);  // mode 0755
  void add_symlink(const std::string& name, const std::string& target);
  // Writes the end-of-archive marker and closes the file. Must be called.
  void close();

 private:
  void write_header(archive_entry* entry, const std::string& name);
  void finish_entry(const std::string& name);
  [[noreturn]] void fail_archive(const std::string& doing) const;
  void free_unopened() noexcept;

  std::string path_;
  ::archive* archive_ = nullptr;
  std::vector<char> buffer_;
  LibarchiveBridge bridge_;  // when writing to a sink
};

}  // namespace dd
