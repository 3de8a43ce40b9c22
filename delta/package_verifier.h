// `verify`: everything `apply` would check, without writing anything. Reads a package front to
// back: every config against its digest and its diff_ids, every payload against its digest and,
// when the base layers are at hand, decodes every layer and checks its diff_id. A bad layer is
// reported and the rest still checked, so the verdict names every problem.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "delta/delta_package.h"
#include "delta/inventory.h"
#include "pipeline/run_context.h"

namespace dd {

class BaseImages;

struct LayerVerdict {
  std::size_t image = 0, layer = 0;
  Digest diff_id;
  Shipping shipping = Shipping::full;
  bool ok = true;
  std::string detail;  // what was checked, or what is wrong
};

struct ImageVerdict {
  std::string name;
  Digest image_id;
  bool ok = true;
  std::string problem;  // of the config
  std::vector<LayerVerdict> layers;
};

struct PackageVerdict {
  std::vector<ImageVerdict> images;
  bool decoded = false;  // layers were rebuilt and their diff_ids checked
  bool ok() const;
  nlohmann::json to_json() const;
};

// `in` is positioned after the header. With `bases`, reused layers must be there and every layer
// is decoded; with only `have` (an inventory), reused layers must be listed; with neither, the
// payloads' digests are all that is checked.
PackageVerdict verify_package(const PackageHeader& header, ByteStream& in, BaseImages* bases, const Inventory* have,
                              const RunContext& ctx, const std::string& what);

}  // namespace dd
