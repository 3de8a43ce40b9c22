// The LayerBody inputs hand out: raw stored bytes from the source, with every check of the
// element contract (stored digest and size, diff_id of the uncompressed bytes) applied as they
// stream. Nothing is buffered beyond one block.
#pragma once

#include <memory>
#include <optional>

#include "core/limits.h"
#include "core/progress.h"
#include "pipeline/element.h"

namespace dd {

class VerifiedLayerBody : public LayerBody {
 public:
  VerifiedLayerBody(std::unique_ptr<ByteStream> raw, const LayerInfo& info, const Limits& limits,
                    Progress* progress);
  ~VerifiedLayerBody() override;

  ByteStream& stored() override;
  ByteStream& uncompressed() override;
  void drain_and_verify() override;
  std::optional<FileSlice> plain_file() const override;

 private:
  ByteStream& checked_stored_bytes();
  std::string what() const;

  std::unique_ptr<ByteStream> raw_;
  LayerInfo info_;
  Limits limits_;
  Progress* progress_;
  std::vector<std::unique_ptr<ByteStream>> chain_;  // owns the wrappers; the last is the head
  ByteStream* head_ = nullptr;
};

}  // namespace dd
