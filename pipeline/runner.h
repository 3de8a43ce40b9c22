// Builds a pipeline from specs and runs it: input -> filters -> output.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "pipeline/registry.h"

namespace dd {

// Thrown by an output whose destination refused a shortcut it tried (a daemon load that left out
// layers the daemon has): the run is repeated once with `destination` instead, when the source
// can be read again. The message says what was refused.
class RunAgainWith : public Error {
 public:
  RunAgainWith(std::string message, StageSpec destination)
      : Error(Errc::bad_input, std::move(message)), destination_(std::move(destination)) {}
  const StageSpec& destination() const { return destination_; }

 private:
  StageSpec destination_;
};

struct PipelineSpec {
  StageSpec source;
  std::vector<StageSpec> filters;  // in the order elements pass through them
  StageSpec destination;
};

// Runs the pipeline and returns what the output committed. A platform filter is put first when
// the specs name none (with ctx.platform, or the host's platform), so a multi-platform source
// always yields one image. The output is built first, so a destination that may not be written
// fails before any input is read; on any error nothing is committed. RunAgainWith is honoured
// once, unless the source is standard input.
nlohmann::json run_pipeline(const Registry& registry, const PipelineSpec& spec, RunContext& ctx);

// The same with an output built by the caller (inspect uses a sink that writes nothing).
nlohmann::json run_pipeline(const Registry& registry, const StageSpec& source, std::vector<StageSpec> filters,
                            std::unique_ptr<OutputStore> output, RunContext& ctx);

}  // namespace dd
