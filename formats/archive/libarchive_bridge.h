// The one bridge between libarchive's C callbacks and docker_delta's streams. Exceptions must not
// cross libarchive's C frames: a callback keeps what it caught and fails the libarchive call, and
// the caller rethrows it (rethrow_if_failed) once that call has returned, so the real cause (a
// damaged blob, ENOSPC, an interrupted run) is what the user sees, not "libarchive failed".
#pragma once

#include <cstddef>
#include <exception>
#include <vector>

#include "core/byte_stream.h"

struct archive;

namespace dd {

class LibarchiveBridge {
 public:
  // Opens `a` (a new read archive) over `in`, read `block_size` bytes at a time; returns
  // archive_read_open's result. `in` must outlive the archive.
  int open_reader(struct archive* a, ByteStream& in, std::size_t block_size = 256 * 1024);
  // Opens `a` (a new write archive) into `out`; returns archive_write_open2's result.
  int open_writer(struct archive* a, ByteSink out);
  // Rethrows what a callback caught, if anything.
  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static long read(struct archive* a, void* self, const void** buffer);
  static long write(struct archive* a, void* self, const void* buffer, std::size_t size);

  ByteStream* in_ = nullptr;
  ByteSink out_;
  std::vector<char> block_;
  std::exception_ptr error_;
};

}  // namespace dd
