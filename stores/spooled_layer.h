// A layer that a stage has written to a temporary file (because its digest is known only once
// all its bytes exist), handed on as an ordinary verified LayerBody. The file is unlinked as soon
// as it is created, so it disappears however the run ends.
#pragma once

#include <memory>
#include <string>

#include "core/hashing_spool.h"
#include "pipeline/element.h"
#include "pipeline/run_context.h"

namespace dd {

class SpooledLayer {
 public:
  explicit SpooledLayer(const RunContext& ctx);
  // Appends bytes and hashes them.
  void write(const char* data, std::size_t size);
  // Ends writing: fills `info` with the new diff_id and size (uncompressed) and returns a body
  // that re-reads the file and verifies it like any input's layer.
  std::unique_ptr<LayerBody> finish(LayerInfo& info);

 private:
  const RunContext& ctx_;
  HashingSpool spool_;
};

}  // namespace dd
