// The tar stream of the Engine API's GET /images/NAME/get (what `docker save` writes), read once
// as it arrives, from Docker <= 24 (layer directories named by legacy IDs), Docker 25+ (an OCI
// layout, blobs named by digest) and podman (layer files named by diff_id). What it keeps: the
// config whose digest is the image ID, and the wanted layers, each hashed on its way into an
// unlinked temporary file. Everything else is skipped. `manifest.json` may come last, so nothing
// here depends on it: the caller knows the image from the daemon's inspect.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "pipeline/run_context.h"

namespace dd {

struct SavedLayer {
  std::shared_ptr<UniqueFd> file;  // the layer's bytes from offset 0, checked against its diff_id
  std::uint64_t size = 0;
};

struct SaveStreamContents {
  std::optional<std::string> config;    // checked against the image ID
  std::map<Digest, SavedLayer> layers;  // by diff_id; only wanted ones
};

// Reads `stream` to its end. `wanted` says which diff_ids to keep; `wanted_count` how many there
// are, so that once all are in the rest is skipped unread. Fails Errc::integrity on a config that
// does not match `image_id`, Errc::bad_input on a damaged stream, Errc::limit past the limits.
// Disk: the wanted layers, plus one unwanted layer at a time from Docker <= 24.
SaveStreamContents read_docker_save_stream(ByteStream& stream, const Digest& image_id,
                                           const std::function<bool(const Digest&)>& wanted, std::size_t wanted_count,
                                           const RunContext& ctx, const std::string& what);

}  // namespace dd
