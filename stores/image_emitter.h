// Pushes one image from a file tree into the pipeline: manifest, config, then each layer with a
// verifying body (or none when fetch_callback declines it). Shared by every archive and layout
// input, so they all check the same things in the same way.
#pragma once

#include <string>
#include <vector>

#include "formats/archive/file_tree.h"
#include "pipeline/image_model.h"
#include "pipeline/run_context.h"
#include "pipeline/stage.h"

namespace dd {

struct ImageLocation {
  ImageManifest manifest;                // descriptors; a digest may be empty when the source has none
  std::string config_path;               // inside the tree
  std::vector<std::string> layer_paths;  // inside the tree, in order
};

// Set (to "true") in the `stored` and `source` annotations of a layer element whose blob the
// source does not hold. Such an element never has a body: it goes out only when the pipeline
// declined the layer (inspect); a wanted absent layer fails before any layer is read. The mark
// is removed from whatever the source's manifest says, so only the emitter can set it.
inline constexpr char kAbsentBlobMark[] = "docker-delta.internal.blob-absent";

void emit_image(const FileTree& tree, ImageLocation image, Stage& sink, const RunContext& ctx);

// "blobs/sha256/<hex>" for a digest.
std::string blob_path(const Digest& digest);
// The digest a file name states: "blobs/sha256/<hex>", "<hex>.json", "<hex>.tar" or
// "<hex>/layer.tar"-style names give none. Empty when the name states none.
Digest digest_from_path(const std::string& path);

}  // namespace dd
