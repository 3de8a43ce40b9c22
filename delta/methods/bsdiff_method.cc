// The "bsdiff" method: patches made by the bsdiff program, read in process (delta/bspatch.h).
#include "delta/methods/external_delta.h"
#include "delta/methods/methods.h"
#include "delta/methods/one_base_method.h"

namespace dd {
namespace {

class BsdiffMethod : public DeltaMethod {
 public:
  std::string_view name() const override { return "bsdiff"; }
  std::size_t bases_per_payload() const override { return 1; }
  std::unique_ptr<DeltaEncoder> make_encoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings&,
                                             const Limits&) const override {
    return std::make_unique<OneBaseEncoder>(bases, bsdiff_encode);
  }
  void decode(const std::shared_ptr<UniqueFd>& payload, std::uint64_t, const std::vector<DeltaLayerFile>& bases,
              std::uint64_t declared_size, const ByteSink& out, const std::string& what) const override {
    bsdiff_decode(payload->get(), bases.front(), declared_size, out, what);
  }
};

}  // namespace

const DeltaMethod& bsdiff_delta_method() {
  static const BsdiffMethod method;
  return method;
}

}  // namespace dd
