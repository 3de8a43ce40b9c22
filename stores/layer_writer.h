// Writes blobs to files for output stores: a layer body in the compression the output wants, or
// a small JSON document, reporting the digest and size of exactly what was written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/digest.h"
#include "formats/compression/compression.h"
#include "pipeline/element.h"

namespace dd {

struct WrittenBlob {
  Digest digest;  // sha256 of the bytes in the file
  std::uint64_t size = 0;
  Compression compression = Compression::none;
};

// Writes one layer body to a new file at `path` (which must not exist). `target` nullopt, or the
// compression the layer is already stored in, copies the stored bytes verbatim; anything else
// recompresses the uncompressed bytes (Compression::none writes them as they are). The body's own
// checks (digest, size, diff_id) run as it is read. A failed write removes the partial file.
WrittenBlob write_layer(LayerBody& body, const LayerInfo& info, std::optional<Compression> target,
                        const std::string& path);

// Writes `bytes` (a config, manifest or index) to a new file at `path`.
WrittenBlob write_bytes(std::string_view bytes, const std::string& path);

}  // namespace dd
