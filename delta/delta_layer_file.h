// A layer of the receiver's (or the new layer being encoded) as every delta method reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "formats/archive/layer_tar_index.h"
#include "pipeline/element.h"

namespace dd {

// One uncompressed layer tar in a file, readable in place: a temporary file of its own, or a
// stretch of a bigger file (an uncompressed layer inside a docker archive).
struct DeltaLayerFile {
  Digest diff_id;
  std::shared_ptr<UniqueFd> file;
  std::uint64_t size = 0;
  std::shared_ptr<const LayerTarIndex> index;  // needed by the encoder only
  std::uint64_t offset = 0;                    // where the layer starts in `file`
  // Reads `length` bytes at `at` (relative to the layer); Errc::bad_input if the file is short.
  void read(std::uint64_t at, std::uint64_t length, char* out, const std::string& what) const;
};

// A layer body as a DeltaLayerFile, its bytes read and checked (drain_and_verify) first: a layer
// stored uncompressed in a file (a docker archive, a daemon's spool) is used where it lies; any
// other is decompressed into an unlinked temporary file in `temp_dir` (empty: $TMPDIR).
// `in_place` (when given) says which.
DeltaLayerFile hold_layer(LayerBody& body, const Digest& diff_id, const std::string& temp_dir, bool* in_place = nullptr);

}  // namespace dd
