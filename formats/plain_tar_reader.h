// A libarchive read handle set up for plain (uncompressed) tar, freed when it goes out of scope:
// what every reader of layer tars and save streams here starts from.
#pragma once

#include <archive.h>

namespace dd {

struct PlainTarReader {
  archive* a = archive_read_new();
  PlainTarReader() {
    archive_read_support_format_tar(a);
    archive_read_support_filter_none(a);
  }
  ~PlainTarReader() { archive_read_free(a); }
  PlainTarReader(const PlainTarReader&) = delete;
  PlainTarReader& operator=(const PlainTarReader&) = delete;
};

}  // namespace dd
