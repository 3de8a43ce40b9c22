// The "xdelta3" method: VCDIFF made and read by the xdelta3 program (delta/external_delta.h).
#include "delta/methods/external_delta.h"
#include "delta/methods/methods.h"
#include "delta/methods/one_base_method.h"

namespace dd {
namespace {

class Xdelta3Method : public DeltaMethod {
 public:
  std::string_view name() const override { return "xdelta3"; }
  std::size_t bases_per_payload() const override { return 1; }
  std::unique_ptr<DeltaEncoder> make_encoder(const std::vector<DeltaLayerFile>& bases, const DeltaSettings&,
                                             const Limits&) const override {
    return std::make_unique<OneBaseEncoder>(bases, xdelta3_encode);  // always its best (-9)
  }
  void decode(const std::shared_ptr<UniqueFd>& payload, std::uint64_t, const std::vector<DeltaLayerFile>& bases,
              std::uint64_t declared_size, const ByteSink& out, const std::string& what) const override {
    xdelta3_decode(payload->get(), bases.front(), declared_size, out, what);
  }
};

}  // namespace

const DeltaMethod& xdelta3_delta_method() {
  static const Xdelta3Method method;
  return method;
}

}  // namespace dd
