// The elements that flow from an input store through filters to an output store.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <memory>
#include <optional>
#include <vector>

#include "core/byte_stream.h"
#include "core/compression_kind.h"
#include "pipeline/image_model.h"

namespace dd {

// What a fetch_callback question is about: an index's leaf manifest (by its digest) or a layer
// (by its diff_id). Inputs say which, so no stage has to guess from the order of the questions.
enum class BlobKind { manifest, layer };

enum class ElementType {
  index,     // the platforms an index offers (leaves only); only from sources that have an index
  manifest,  // the one image manifest that is being passed on
  config,    // the image config bytes, verified against their digest
  layer,     // one layer: descriptor, diff_id, and a body unless the pipeline declined it
};
std::string_view to_string(ElementType type);

struct LayerInfo {
  std::size_t index = 0;  // 0-based position in the image
  std::size_t count = 0;  // layers in the image
  Descriptor stored;      // as the source stores it; digest empty when the source does not name it
  Compression compression = Compression::none;  // of the stored bytes, from their magic number
  Digest diff_id;         // digest of the uncompressed tar (config rootfs.diff_ids[index])
  // How the source holds the layer. Equal to `stored`/`compression` except for rare
  // compressions (bzip2, xz) that the input decompresses itself and passes on as plain tar.
  Descriptor source;
  Compression source_compression = Compression::none;
};

// The bytes of one layer. Read exactly one of stored() or uncompressed(), once. Whichever is
// read, the end of the stream checks the stored size and digest (when the source names them) and
// the diff_id of the uncompressed bytes; a mismatch throws Errc::integrity from read(). After
// process_image_element returns, the input calls drain_and_verify(), so checks run even if a
// stage read nothing.
class LayerBody {
 public:
  virtual ~LayerBody() = default;
  virtual ByteStream& stored() = 0;
  virtual ByteStream& uncompressed() = 0;
  virtual void drain_and_verify() = 0;
  // When the source holds the layer uncompressed as one stretch of a file, that stretch, so a
  // stage that needs random access can use it in place instead of copying it. Only before the
  // body is read, and unverified: drain_and_verify() still checks the bytes.
  struct FileSlice {
    std::shared_ptr<UniqueFd> file;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  virtual std::optional<FileSlice> plain_file() const { return std::nullopt; }
};

// A layer already encoded for a delta package by the delta filter: a payload in a temporary
// file. The layer's body is still passed along for stages that want the plain bytes.
struct LayerPayload {
  bool is_delta = true;          // false: the whole layer, compressed
  std::string method;            // "zstd", "xdelta3", "bsdiff"; "layer" when whole
  Compression compression = Compression::none;  // of a whole-layer payload
  std::vector<Digest> bases;     // base layers a delta reads
  std::shared_ptr<UniqueFd> file;
  std::uint64_t size = 0;
  Digest digest;
};

// What process_image_element carries; which member is set depends on the element type.
struct ElementData {
  const IndexInfo* index = nullptr;        // ElementType::index
  const ImageManifest* manifest = nullptr; // ElementType::manifest
  const std::string* config = nullptr;     // ElementType::config: the exact config bytes
  const LayerInfo* layer = nullptr;        // ElementType::layer
  LayerBody* body = nullptr;               // ElementType::layer; null when fetch_callback said no
  const LayerPayload* payload = nullptr;   // ElementType::layer, after a delta filter
};

}  // namespace dd
