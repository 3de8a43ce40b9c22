// Ctrl-C, SIGTERM, SIGHUP and SIGQUIT end a run like any other failure: the signal only sets a
// flag, a blocked read or write returns (the handlers are installed without SA_RESTART), the
// next check throws, and destructors remove temporaries on the way out. A second signal ends
// the process at once.
#pragma once

#include <atomic>

namespace dd {

void install_interruption_handlers();
// Throws Errc::io ("interrupted") once one of those signals has arrived, or, on a thread inside
// a CancellationScope, once its owner has cancelled it.
void throw_if_interrupted();

// Work on another thread that its owner may abandon (the base prefetch of a run that failed):
// while a scope lives on a thread, throw_if_interrupted() there also throws once `cancelled`
// is set, so the owner waits a block's time for it, not the rest of the work.
class CancellationScope {
 public:
  explicit CancellationScope(const std::atomic<bool>& cancelled);
  ~CancellationScope();
  CancellationScope(const CancellationScope&) = delete;
  CancellationScope& operator=(const CancellationScope&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

}  // namespace dd
