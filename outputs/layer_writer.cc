#include "outputs/layer_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include "pipeline/error.h"

namespace dd {
namespace {

// A new file that hashes and counts what goes into it, and is removed unless keep() is called.
class HashingFileWriter {
 public:
  explicit HashingFileWriter(std::string path) : path_(std::move(path)) {
    fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
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
    hasher_.update(data, size);
  }

  WrittenBlob keep(Compression compression) {
    const std::uint64_t size = hasher_.bytes();
    WrittenBlob blob{hasher_.finish(), size, compression};
    if (::close(fd_.release()) != 0) fail_errno(fmt::format("closing {}", path_));
    kept_ = true;
    return blob;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  Hasher hasher_{"sha256"};
  bool kept_ = false;
};

}  // namespace

WrittenBlob write_layer(LayerBody& body, const LayerInfo& info, std::optional<Compression> target,
                        const std::string& path) {
  HashingFileWriter file(path);
  auto sink = [&file](const char* data, std::size_t size) { file.write(data, size); };
  if (!target || *target == info.compression) {
    copy_stream(body.stored(), sink);
    return file.keep(info.compression);
  }
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
