// Decompresses any format libarchive's filters know (bzip2, xz, lzma, lz4, ...) as a pull stream.
// Used for rare layer compressions, which inputs turn into plain tar so that later stages only
// meet none, gzip and zstd.
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
  LibarchiveDecompressingStream(std::unique_ptr<ByteStream> source, ExpansionLimit limit, std::string what);
  ~LibarchiveDecompressingStream() override;
  std::size_t read(char* buffer, std::size_t size) override;

 private:
  static long read_callback(struct archive*, void* self, const void** block);  // C callback: never throws
  void open();

  std::unique_ptr<ByteStream> source_;
  ExpansionLimit limit_;
  std::string what_;
  struct archive* archive_ = nullptr;
  std::vector<char> block_;
  std::exception_ptr source_error_;  // an exception from source_, carried across libarchive
  std::uint64_t in_ = 0, out_ = 0;
  bool opened_ = false, done_ = false;
};

}  // namespace dd
