// The planner of the "zstd" method: cuts a new layer tar into segments, each with the reference
// bytes its zstd frame is compressed against and the operations (copies from a base, gzip files
// rebuilt from their content) that stand in for bytes the frame does not hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "delta/base_catalogue.h"
#include "delta/zstd/wire.h"

namespace dd::tar_delta {

// Segments hold about `segment_bytes` new bytes each (bounded by what every decoder accepts);
// their pieces and operations number bases as `bases` does. With `patches`, every changed file
// with an old version gets patch operations (over windows the suffix matcher takes) that the
// encoder keeps or drops. Uses up to `jobs` threads.
std::vector<Segment> plan_segments(const DeltaLayerFile& layer, const std::vector<DeltaLayerFile>& bases,
                                   const std::vector<FileMatch>& match, std::uint64_t segment_bytes, bool patches,
                                   unsigned jobs, TarDeltaStats& stats, const std::string& what);

}  // namespace dd::tar_delta
