// The interrupt flag: a lock-free atomic written by the signal handler.
#include "core/interrupt.h"

#include <signal.h>

#include <atomic>

namespace gqaforge {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the flag is written from a signal handler");

extern "C" void on_interrupt(int sig) {
  g_signal.store(sig);
  g_interrupted.store(true);
  // The next SIGINT or SIGTERM takes the default action (signal() is async-signal-safe).
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocking wait (a worker's answer) returns EINTR and looks at the flag.
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() {
  return g_interrupted.load();
}

int interrupt_signal() {
  return g_signal.load();
}

void request_interrupt() {
  g_interrupted.store(true);
}

void clear_interrupt() {
  g_interrupted.store(false);
  g_signal.store(0);
}

}  // namespace gqaforge
