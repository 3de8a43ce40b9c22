// Streams a tar through libarchive, letting a caller edit each entry's header, and writes the
// result as a new tar. Entry data is copied block by block; nothing is held whole in memory.
#pragma once

#include <functional>

#include "core/byte_stream.h"
#include "formats/compression/compression.h"

struct archive_entry;

namespace dd {

// Edits an entry's header in place; returns false to leave the entry (and its data) out.
using EntryEditor = std::function<bool(archive_entry*)>;

// Reads the uncompressed tar `in`, calls `edit` on every entry header, writes pax tar to `out`.
// `what` names the layer in errors.
void rewrite_tar(ByteStream& in, const EntryEditor& edit, const ByteSink& out, const std::string& what);

}  // namespace dd
