// A delta method: one way of encoding a changed layer against layers the receiver has, and of
// rebuilding it there. Each method is one implementation of DeltaMethod (delta/methods/) and one
// line in delta/delta_methods.cc; the package header, the delta filter, the delta input and
// create's --method learn the methods from there.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_stream.h"
#include "core/digest.h"
#include "core/limits.h"
#include "delta/delta_layer_file.h"

namespace dd {

// Measured on the webapp pair (docs/benchmarks.md, 2026-12-04): level 6 makes packages 7% smaller
// than level 3 at about its time, in half xdelta3 -9's; 9 is 5% smaller again and 12 7%, for
// 10% and 40% more time (most of a run is matching, patches and gzip recipes, not the frame).
inline constexpr int kDefaultDeltaLevel = 6;

struct DeltaSettings {
  int level = kDefaultDeltaLevel;          // zstd level; negative = fast mode
  // New bytes per frame; memory is about 8x this. 16 MiB: on the webapp pair 0.4 % smaller
  // packages than 32 MiB, and a third less memory (202 against 270 MiB peak).
  std::uint64_t segment_bytes = 16u << 20;
  unsigned jobs = 1;                        // threads encoding a layer (patches beside frames)
};
// Encodes the new layers of one run against one set of base layers.
class DeltaEncoder {
 public:
  virtual ~DeltaEncoder() = default;
  struct Result {
    std::vector<Digest> bases;  // the base layers the payload reads, in its numbering; never empty
    std::string details;        // what the encoder found, for --verbose; may be empty
  };
  // Appends the payload that rebuilds `layer` to `payload_fd`. Errc::not_found when nothing in
  // the bases helps (the layer then ships whole); other errors end the run.
  virtual Result encode(const DeltaLayerFile& layer, int payload_fd, const std::string& what) = 0;
};

class DeltaMethod {
 public:
  virtual ~DeltaMethod() = default;
  // The name in package headers and in --method / delta:METHOD.
  virtual std::string_view name() const = 0;
  // How many bases each payload names: 0 means any number from one up.
  virtual std::size_t bases_per_payload() const { return 0; }
  // `bases` are every layer the receiver has, bottom first, each indexed (DeltaLayerFile::index);
  // the encoder may keep references into them.
  virtual std::unique_ptr<DeltaEncoder> make_encoder(const std::vector<DeltaLayerFile>& bases,
                                                     const DeltaSettings& settings, const Limits& limits) const = 0;
  // Rebuilds a layer of `declared_size` bytes into `out` from a payload (checked against its digest,
  // bytes [0, payload_size) of `payload`) and the bases it names, in its order. Every bound is
  // the decoder's own: the payload is untrusted. The caller checks the diff_id of the output.
  virtual void decode(const std::shared_ptr<UniqueFd>& payload, std::uint64_t payload_size,
                      const std::vector<DeltaLayerFile>& bases, std::uint64_t declared_size, const ByteSink& out,
                      const std::string& what) const = 0;
};

// The methods this docker_delta knows, the default ("zstd") first.
const std::vector<const DeltaMethod*>& delta_methods();
// The method of that name, or null.
const DeltaMethod* find_delta_method(std::string_view name);
// "zstd, xdelta3, bsdiff": for messages and --help.
std::string delta_method_list(std::string_view separator = ", ");

}  // namespace dd
