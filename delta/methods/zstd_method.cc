// The "zstd" method: tar-aware, against every base layer at once (delta/zstd/tar_delta.h).
#include "core/error.h"
#include "core/progress.h"
#include "delta/methods/methods.h"
#include "delta/zstd/tar_delta.h"
#include <fmt/format.h>

namespace dd {
namespace {

class ZstdEncoder : public DeltaEncoder {
 public:
  ZstdEncoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings& settings, const Limits& limits)
      : encoder_(bases, limits), settings_(settings) {}
  Result encode(const DeltaLayerFile& layer, int payload_fd, const std::string&) override {
    const TarDeltaEncoder::Result r = encoder_.encode(layer, settings_, [&](const char* d, std::size_t n) {
      write_all(payload_fd, d, n, "temporary payload file");
    });
    // A layer whose files match nothing in the bases reads no base: that is no delta, and a
    // package may not name a delta without bases. It ships whole.
    if (r.bases.empty()) throw Error(Errc::not_found, "nothing in it matches the base layers");
    const auto& s = r.stats;
    return {r.bases, fmt::format("file bytes unchanged {}, changed at the same path {}, by name {}, new {}; gzip files "
                                 "sent decompressed {}",
                                 human_bytes(s.exact_bytes), human_bytes(s.path_bytes), human_bytes(s.name_bytes),
                                 human_bytes(s.unmatched_bytes), human_bytes(s.gzip_bytes))};
  }

 private:
  TarDeltaEncoder encoder_;
  DeltaSettings settings_;
};

class ZstdMethod : public DeltaMethod {
 public:
  std::string_view name() const override { return "zstd"; }
  std::unique_ptr<DeltaEncoder> make_encoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings& settings,
                                             const Limits& limits) const override {
    return std::make_unique<ZstdEncoder>(bases, settings, limits);
  }
  void decode(const std::shared_ptr<UniqueFd>& payload, std::uint64_t payload_size, const std::vector<DeltaLayerFile>& bases,
              std::uint64_t declared_size, const ByteSink& out, const std::string& what) const override {
    FileRangeStream bytes(payload, 0, payload_size, what);
    decode_tar_delta(bytes, bases, declared_size, out, what);
  }
};

}  // namespace

const DeltaMethod& zstd_delta_method() {
  static const ZstdMethod method;
  return method;
}

}  // namespace dd
