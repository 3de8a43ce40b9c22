#include "stores/layer_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <optional>

#include "core/error.h"
#include "formats/compression/compression.h"

namespace dd {
namespace {

// A new file that counts (and, unless told the digest, hashes) what goes into it, and is removed
// unless keep() is called.
class HashingFileWriter {
 public:
  explicit HashingFileWriter(std::string path, std::optional<Digest> known_digest = std::nullopt)
      : path_(std::move(path)), known_digest_(std::move(known_digest)) {
    fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));  // less the umask
    if (!fd_) fail_errno(fmt::format("creating {}", path_));
  }
  ~HashingFileWriter() {
    if (!kept_) {
      fd_ = UniqueFd();
      ::unlink(path_.c_str());
    }
  }

  void write(const char* data, std::size_t size) {
    write_all(fd_.get(), data, size, path_);
    size_ += size;
    if (!known_digest_) hasher_.update(data, size);
  }

  WrittenBlob keep(Compression compression) {
    WrittenBlob blob{known_digest_ ? *known_digest_ : hasher_.finish(), size_, compression};
    if (::close(fd_.release()) != 0) fail_errno(fmt::format("closing {}", path_));
    kept_ = true;
    return blob;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  std::optional<Digest> known_digest_;
  Hasher hasher_{"sha256"};
  std::uint64_t size_ = 0;
  bool kept_ = false;
};

// The body checks the stored digest and the diff_id when its stream ends, so bytes copied
// unchanged already have a verified digest: hashing them a second time would double the SHA-256
// work on the hot path. Only recompressed output needs its own hash.
std::optional<Digest> verified_sha256(const Digest& digest) {
  if (digest.empty() || digest.algorithm() != "sha256") return std::nullopt;
  return digest;
}

}  // namespace

WrittenBlob write_layer(LayerBody& body, const LayerInfo& info, std::optional<Compression> target,
                        const std::string& path) {
  if (!target || *target == info.compression) {
    HashingFileWriter file(path, verified_sha256(info.stored.digest));
    copy_stream(body.stored(), [&file](const char* data, std::size_t size) { file.write(data, size); });
    return file.keep(info.compression);
  }
  if (*target == Compression::none) {
    HashingFileWriter file(path, verified_sha256(info.diff_id));
    copy_stream(body.uncompressed(), [&file](const char* data, std::size_t size) { file.write(data, size); });
    return file.keep(Compression::none);
  }
  HashingFileWriter file(path);
  auto sink = [&file](const char* data, std::size_t size) { file.write(data, size); };
  auto compressor = make_compressor(*target);
  copy_stream(body.uncompressed(), [&](const char* data, std::size_t size) { compressor->feed(data, size, sink); });
  compressor->finish(sink);
  return file.keep(*target);
}

WrittenBlob write_bytes(std::string_view bytes, const std::string& path) {
  HashingFileWriter file(path);
  file.write(bytes.data(), bytes.size());
  return file.keep(Compression::none);
}

}  // namespace dd
