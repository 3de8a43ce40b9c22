// What the methods that run a standard program against one base layer share: the encoder picks
// the base most like the new layer (by the bytes of files at the same paths).
#pragma once

#include <functional>

#include "delta/base_catalogue.h"
#include "delta/delta_method.h"

namespace dd {

class OneBaseEncoder : public DeltaEncoder {
 public:
  using Encode = std::function<void(const DeltaLayerFile& base, const DeltaLayerFile& layer, int payload_fd)>;
  OneBaseEncoder(const std::vector<DeltaLayerFile>& bases, Encode encode)
      : bases_(bases), catalogue_(bases), encode_(std::move(encode)) {}
  Result encode(const DeltaLayerFile& layer, int payload_fd, const std::string&) override {
    const DeltaLayerFile& base = bases_[catalogue_.most_similar_base(layer)];
    encode_(base, layer, payload_fd);
    return {{base.diff_id}, {}};
  }

 private:
  const std::vector<DeltaLayerFile>& bases_;
  BaseCatalogue catalogue_;
  Encode encode_;
};

}  // namespace dd
