#include "core/interruption.h"

#include <pthread.h>

#include <csignal>

#include "core/error.h"

namespace dd {
namespace {

volatile std::sig_atomic_t g_signal = 0;
pthread_t g_main_thread;
thread_local const std::atomic<bool>* t_cancelled = nullptr;

extern "C" void remember_signal(int signal) {
  // The kernel may hand a process signal to any thread; the main thread is the one that may be
  // blocked reading input, so it is the one that must be woken (EINTR).
  if (!pthread_equal(pthread_self(), g_main_thread)) {
    pthread_kill(g_main_thread, signal);
    return;
  }
  if (g_signal != 0) {  // the second one: the user means now
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_signal = signal;
}

}  // namespace

void install_interruption_handlers() {
  g_main_thread = pthread_self();
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a read blocked on a pipe or socket returns EINTR
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(signal, &action, nullptr);
}

void throw_if_interrupted() {
  if (g_signal != 0) fail(Errc::io, "interrupted by signal {}; nothing was written", static_cast<int>(g_signal));
  if (t_cancelled != nullptr && t_cancelled->load()) fail(Errc::io, "cancelled: the run it served has ended");
}

CancellationScope::CancellationScope(const std::atomic<bool>& cancelled) : previous_(t_cancelled) { t_cancelled = &cancelled; }
CancellationScope::~CancellationScope() { t_cancelled = previous_; }

}  // namespace dd
