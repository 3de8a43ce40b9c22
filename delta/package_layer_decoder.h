// Rebuilds one layer of a delta package from its payload: a whole layer is decompressed, a delta
// is decoded against its base layers. Shared by `apply` (the delta input) and by `create`, which
// decodes every package it writes before renaming it into place.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/byte_stream.h"
#include "delta/delta_layer_file.h"
#include "delta/delta_package.h"

namespace dd {

// Writes the layer's bytes to `out`. The bound is the layer's declared size: more output stops
// the decoder at once and less is an error, so a payload cannot make the receiver write more than
// the header says (the caller checks the diff_id of what comes out). `payload` holds the payload
// bytes from offset 0, already checked against their digest; `bases` are the layers `layer.bases`
// names, in that order.
void decode_package_layer(const PackageLayer& layer, const std::shared_ptr<UniqueFd>& payload,
                          const std::vector<DeltaLayerFile>& bases, const ByteSink& out,
                          const std::string& what);

}  // namespace dd
