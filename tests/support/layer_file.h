// A layer tar made from (member, content) pairs in a test's directory, opened and indexed as the
// delta methods read layers.
#pragma once

#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "core/limits.h"
#include "delta/delta_layer_file.h"
#include "formats/archive/layer_tar_index.h"
#include "formats/archive/tar_writer.h"
#include "tests/support/temp_dir.h"

namespace dd {

// Its diff_id stands in as the digest of `name`, so tests can tell layers apart by name.
inline DeltaLayerFile make_layer_file(const TempDir& dir, const std::string& name,
                                      const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string path = dir.file(name);
  {
    TarWriter w(path);
    for (const auto& [member, content] : files) {
      MemoryStream body(content);
      w.add_file(member, content.size(), body);
    }
    w.close();
  }
  auto fd = std::make_shared<UniqueFd>(open_for_reading(path));
  const auto size = static_cast<std::uint64_t>(::lseek(fd->get(), 0, SEEK_END));
  DeltaLayerFile f{Digest::sha256_of(name), fd, size, nullptr, 0};
  f.index = std::make_shared<LayerTarIndex>(index_layer_tar(*fd, 0, size, Limits{}, name));
  return f;
}

}  // namespace dd
