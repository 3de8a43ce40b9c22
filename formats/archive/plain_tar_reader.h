// A libarchive read handle set up for plain (uncompressed) tar, freed when it goes out of scope:
// what every reader of layer tars and save streams here starts from.
#pragma once

#include <archive.h>

#include <string>

#include "core/printable.h"

namespace dd {

// libarchive's reason for the last failure, fit for a message: it may have none (NULL), and it
// may quote bytes from the archive.
inline std::string archive_message(archive* a) {
  const char* message = a != nullptr ? archive_error_string(a) : nullptr;
  return message != nullptr ? printable(message) : "libarchive gave no reason";
}

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
