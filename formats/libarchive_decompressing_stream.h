// Decompresses bzip2 or xz with libarchive as a pull stream. Used for rare layer compressions,
// which inputs turn into plain tar so that later stages only meet none, gzip and zstd. Only the
// one filter named is enabled: compression nested inside it is data, not unwrapped, as docker
// would treat it.
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "formats/compression.h"
#include "pipeline/byte_stream.h"

struct archive;

namespace dd {

class LibarchiveDecompressingStream : public ByteStream {
 public:
  LibarchiveDecompressingStream(std::unique_ptr<ByteStream> source, Compression compression, ExpansionLimit limit,
                                std::string what);
  ~LibarchiveDecompressingStream() override;
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  static long read_callback(struct archive*, void* self, const void** block);  // C callback: never throws
  void open();

  std::unique_ptr<ByteStream> source_;
  Compression compression_;
  std::string what_;
  ExpansionMeter meter_;
  struct archive* archive_ = nullptr;
  std::vector<char> block_;
  std::exception_ptr source_error_;  // an exception from source_, carried across libarchive
  bool opened_ = false, done_ = false;
};

}  // namespace dd
