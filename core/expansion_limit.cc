#include "core/expansion_limit.h"

#include "core/error.h"
#include "core/progress.h"

namespace dd {

void ExpansionMeter::add_output(std::uint64_t n) {
  out_ += n;
  if (!limit_.enabled()) return;
  const double allowed = limit_.ratio * static_cast<double>(in_);
  const std::uint64_t excess = static_cast<double>(out_) > allowed ? out_ - static_cast<std::uint64_t>(allowed) : 0;
  if (excess <= charged_) return;
  const std::uint64_t used = limit_.allowance_used->fetch_add(excess - charged_) + (excess - charged_);
  charged_ = excess;
  if (used > limit_.allowance_bytes)
    fail(Errc::limit,
         "{} expands beyond {:.0f} times its compressed size, and past {} more than {} allows (decompression bomb? "
         "--max-expansion 0 lifts the bound)",
         what_, limit_.ratio, human_bytes(limit_.allowance_bytes), limit_.allowance_reason);
}

}  // namespace dd
