// The matcher the delta methods share: where every file of the base layers is (by size, path
// and name), which old file each file of a new layer is matched with (the "zstd" method), and
// which base layer is most like a new one (the methods that take one base).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "delta/delta_layer_file.h"
#include "delta/zstd/tar_delta.h"

namespace dd {

struct FileRef {
  std::uint32_t base;
  std::uint32_t member;
};

// A new file's counterpart: none, the same bytes (exact), or a file to diff against.
struct FileMatch {
  std::optional<FileRef> ref;
  bool exact = false;
};

class BaseCatalogue {
 public:
  // `bases` must outlive the catalogue: it points into their indexes.
  explicit BaseCatalogue(const std::vector<DeltaLayerFile>& bases);
  const LayerMember& member(FileRef r) const { return bases_[r.base].index->members[r.member]; }
  // The content digest of a base file, hashed the first time it is asked for.
  const Digest& content_hash(FileRef r);
  // Each member of `layer` with the old file it is encoded against; counts the bytes in `stats`.
  std::vector<FileMatch> match(const DeltaLayerFile& layer, TarDeltaStats& stats, const std::string& what);
  // The base layer sharing the most file bytes with `layer` (by path).
  std::size_t most_similar_base(const DeltaLayerFile& layer) const;

 private:
  const std::vector<DeltaLayerFile>& bases_;
  std::unordered_map<std::uint64_t, std::vector<FileRef>> by_size_;
  std::unordered_map<std::string_view, FileRef> by_path_;  // the topmost layer wins
  std::unordered_map<std::string_view, std::vector<FileRef>> by_name_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Digest> hashes_;
};

}  // namespace dd
