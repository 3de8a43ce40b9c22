#include "stores/blob_directory.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "core/durable_file.h"
#include "core/error.h"

namespace dd {

bool BlobDirectory::claim(const Digest& digest, std::uint64_t size) {
  if (!names_.insert(digest).second) return false;
  bytes_ += size;
  return true;
}

const WrittenBlob* BlobDirectory::layer(const Digest& diff_id, Compression compression) const {
  auto it = layers_.find({diff_id, compression});
  return it == layers_.end() ? nullptr : &it->second;
}

const WrittenBlob& BlobDirectory::remember_layer(const Digest& diff_id, Compression compression, const WrittenBlob& blob) {
  return layers_.insert_or_assign({diff_id, compression}, blob).first->second;
}

const WrittenBlob& BlobDirectory::write_layer(LayerBody& body, const LayerInfo& info, std::optional<Compression> target,
                                              bool* stored) {
  const std::string temp = fmt::format("{}/.layer-{}.tmp", directory_, info.index);
  const WrittenBlob blob = dd::write_layer(body, info, target, temp);
  const bool is_new = claim(blob.digest, blob.size);
  if (is_new) {
    // Synced before the rename: a power cut cannot leave a rightly named but empty blob.
    sync_path(temp);
    const std::string final_path = path(blob.digest);
    if (std::rename(temp.c_str(), final_path.c_str()) != 0) fail_errno(fmt::format("renaming {} to {}", temp, final_path));
  } else {
    std::error_code ignored;  // the same bytes are stored under that name already
    std::filesystem::remove(temp, ignored);
  }
  if (stored != nullptr) *stored = is_new;
  return remember_layer(info.diff_id, target.value_or(info.compression), blob);
}

}  // namespace dd
