// The elements that flow from an input store through filters to an output store.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <memory>
#include <optional>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <variant>
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

// What process_image_element carries. It says by type what it holds: the accessor of another
// kind of element throws Errc::internal, so a stage cannot read a layer body from a config.
// Everything it points to belongs to the caller and lives for the call only.
class ElementData {
 public:
  static ElementData of_index(const IndexInfo& index) { return ElementData(&index); }
  static ElementData of_manifest(const ImageManifest& manifest) { return ElementData(&manifest); }
  static ElementData of_config(const std::string& config_bytes) { return ElementData(&config_bytes); }
  // `body` is null when fetch_callback said no.
  static ElementData of_layer(const LayerInfo& info, LayerBody* body) { return ElementData(Layer{&info, body}); }

  ElementType type() const { return static_cast<ElementType>(value_.index()); }
  const IndexInfo& index() const { return *get<const IndexInfo*>(ElementType::index); }
  const ImageManifest& manifest() const { return *get<const ImageManifest*>(ElementType::manifest); }
  const std::string& config() const { return *get<const std::string*>(ElementType::config); }  // the exact bytes
  const LayerInfo& layer() const { return *get<Layer>(ElementType::layer).info; }
  LayerBody* body() const { return get<Layer>(ElementType::layer).body; }
  void set_body(LayerBody* body) { std::get<Layer>(check(ElementType::layer)).body = body; }

  // A copy with another layer and body, keeping what filters attached.
  ElementData with_layer(const LayerInfo& info, LayerBody* body) const {
    check(ElementType::layer);
    ElementData copy = *this;
    copy.value_ = Layer{&info, body};
    return copy;
  }

  // What a filter attaches for the stages after it, found by its type (the delta filter attaches
  // a delta/layer_payload.h LayerPayload). Null when nothing of that type was attached.
  template <typename T>
  const T* attachment() const {
    for (const auto& [type, value] : attachments_)
      if (type == std::type_index(typeid(T))) return static_cast<const T*>(value);
    return nullptr;
  }
  template <typename T>
  void attach(const T& value) {
    attachments_.emplace_back(std::type_index(typeid(T)), &value);
  }

 private:
  struct Layer {
    const LayerInfo* info;
    LayerBody* body;
  };
  // In ElementType's order, so that the variant's index is the type.
  using Value = std::variant<const IndexInfo*, const ImageManifest*, const std::string*, Layer>;
  explicit ElementData(Value value) : value_(value) {}
  template <typename T>
  const T& get(ElementType wanted) const {
    return std::get<T>(check(wanted));
  }
  // Errc::internal naming both kinds when this element is not `wanted`.
  const Value& check(ElementType wanted) const;
  Value& check(ElementType wanted) { return const_cast<Value&>(std::as_const(*this).check(wanted)); }

  Value value_;
  std::vector<std::pair<std::type_index, const void*>> attachments_;
};

}  // namespace dd
