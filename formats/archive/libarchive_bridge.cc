#include "formats/archive/libarchive_bridge.h"

#include <archive.h>

#include <cerrno>

namespace dd {

static_assert(sizeof(la_ssize_t) == sizeof(long), "the callbacks are declared with long");

int LibarchiveBridge::open_reader(struct archive* a, ByteStream& in, std::size_t block_size) {
  in_ = &in;
  block_.resize(block_size);
  return archive_read_open(a, this, nullptr, &LibarchiveBridge::read, nullptr);
}

int LibarchiveBridge::open_writer(struct archive* a, ByteSink out) {
  out_ = std::move(out);
  return archive_write_open2(a, this, nullptr, &LibarchiveBridge::write, nullptr, nullptr);
}

long LibarchiveBridge::read(struct archive* a, void* self, const void** buffer) {
  auto* b = static_cast<LibarchiveBridge*>(self);
  try {
    *buffer = b->block_.data();
    return static_cast<long>(b->in_->read(b->block_.data(), b->block_.size()));
  } catch (...) {
    b->error_ = std::current_exception();
    archive_set_error(a, EIO, "the source stopped giving data");
    return -1;
  }
}

long LibarchiveBridge::write(struct archive* a, void* self, const void* buffer, std::size_t size) {
  auto* b = static_cast<LibarchiveBridge*>(self);
  try {
    b->out_(static_cast<const char*>(buffer), size);
    return static_cast<long>(size);
  } catch (...) {
    b->error_ = std::current_exception();
    archive_set_error(a, EIO, "the destination stopped taking data");
    return -1;
  }
}

}  // namespace dd
