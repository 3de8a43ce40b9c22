// The "zstd" method: tar-aware, against every base layer at once (delta/zstd/tar_delta.h); each
// changed file in the zstd frame or as a suffix-matcher patch, whichever is smaller. The
// "suffix" method is the same payload with every changed file patched.
#include "core/error.h"
#include "core/progress.h"
#include "delta/methods/methods.h"
#include "delta/zstd/tar_delta.h"
#include <fmt/format.h>

namespace dd {
namespace {

class ZstdEncoder : public DeltaEncoder {
 public:
  ZstdEncoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings& settings, const Limits& limits, SuffixUse suffix)
      : encoder_(bases, limits, suffix), settings_(settings) {}
  Result encode(const DeltaLayerFile& layer, int payload_fd, const std::string&) override {
    const TarDeltaEncoder::Result r = encoder_.encode(layer, settings_, [&](const char* d, std::size_t n) {
      write_all(payload_fd, d, n, "temporary payload file");
    });
    // A layer whose files match nothing in the bases reads no base: that is no delta, and a
    // package may not name a delta without bases. It ships whole.
    if (r.bases.empty()) throw Error(Errc::not_found, "nothing in it matches the base layers");
    const auto& s = r.stats;
    return {r.bases, fmt::format("file bytes unchanged {}, changed at the same path {}, by name {}, new {}; gzip files "
                                 "sent decompressed {}; changed bytes sent as suffix patches {}",
                                 human_bytes(s.exact_bytes), human_bytes(s.path_bytes), human_bytes(s.name_bytes),
                                 human_bytes(s.unmatched_bytes), human_bytes(s.gzip_bytes), human_bytes(s.patch_bytes))};
  }

 private:
  TarDeltaEncoder encoder_;
  DeltaSettings settings_;
};

class ZstdMethod : public DeltaMethod {
 public:
  ZstdMethod(std::string_view name, SuffixUse suffix) : name_(name), suffix_(suffix) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<DeltaEncoder> make_encoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings& settings,
                                             const Limits& limits) const override {
    return std::make_unique<ZstdEncoder>(bases, settings, limits, suffix_);
  }
  void decode(const std::shared_ptr<UniqueFd>& payload, std::uint64_t payload_size, const std::vector<DeltaLayerFile>& bases,
              std::uint64_t declared_size, const ByteSink& out, const std::string& what) const override {
    FileRangeStream bytes(payload, 0, payload_size, what);
    decode_tar_delta(bytes, bases, declared_size, out, what);
  }

 private:
  std::string_view name_;
  SuffixUse suffix_;
};

}  // namespace

const DeltaMethod& zstd_delta_method() {
  static const ZstdMethod method("zstd", SuffixUse::when_smaller);
  return method;
}

const DeltaMethod& suffix_delta_method() {
  static const ZstdMethod method("suffix", SuffixUse::always);
  return method;
}

}  // namespace dd
