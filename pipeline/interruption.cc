#include "pipeline/interruption.h"

#include <csignal>

#include "pipeline/error.h"

namespace dd {
namespace {
volatile std::sig_atomic_t g_signal = 0;
extern "C" void remember_signal(int signal) { g_signal = signal; }
}  // namespace

void install_interruption_handlers() {
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(signal, remember_signal);
}

void throw_if_interrupted() {
  if (g_signal != 0) fail(Errc::io, "interrupted by signal {}; nothing was written", static_cast<int>(g_signal));
}

}  // namespace dd
