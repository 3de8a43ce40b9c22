// The blobs of an image directory (an OCI layout's blobs/sha256, skopeo's dir:), each a file
// named by the hex of its sha256 digest: stored once however often the image names it, a layer
// written under a temporary name until its digest is known, then renamed to it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "stores/layer_writer.h"

namespace dd {

class BlobDirectory {
 public:
  explicit BlobDirectory(std::string directory) : directory_(std::move(directory)) {}
  std::string path(const Digest& digest) const { return directory_ + "/" + digest.hex(); }

  // True the first time a blob is named: the caller then stores it at path(), and its size counts
  // in bytes(). False when it is stored already.
  bool claim(const Digest& digest, std::uint64_t size);

  // The blob written before for this layer in this compression, or null.
  const WrittenBlob* layer(const Digest& diff_id, Compression compression) const;
  const WrittenBlob& remember_layer(const Digest& diff_id, Compression compression, const WrittenBlob& blob);

  // Writes the layer as write_layer() does (`target` as there) to a temporary file, synced, then
  // renames it to its digest's name, or removes it when that blob is stored already. `stored`
  // (when given) says which. The blob is remembered for the layer in the compression
  // `target` names, or the one it is stored in.
  const WrittenBlob& write_layer(LayerBody& body, const LayerInfo& info, std::optional<Compression> target,
                                 bool* stored = nullptr);

  // The bytes of every blob claimed.
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::string directory_;
  std::set<Digest> names_;
  std::map<std::pair<Digest, Compression>, WrittenBlob> layers_;
  std::uint64_t bytes_ = 0;
};

}  // namespace dd
