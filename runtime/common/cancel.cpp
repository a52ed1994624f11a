// Cancellation checks and the SIGINT/SIGTERM handler (see cancel.h). The handler only stores into
// a lock-free atomic, which is async-signal-safe.
#include "common/cancel.h"

#include <csignal>

namespace bitlens {

namespace {

// The Cancellation the handler requests: process-wide because signals are.
std::atomic<Cancellation*> g_signal_target{nullptr};
struct sigaction g_previous[2];
constexpr int kSignals[2] = {SIGINT, SIGTERM};

extern "C" void on_stop_signal(int sig) {
  if (Cancellation* c = g_signal_target.load()) c->request(sig);
}

}  // namespace

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

void Cancellation::check(const std::string& doing) const {
  const int reason = reason_.load();
  if (reason == 0) return;
  const int signal = reason > 0 ? reason : 0;
  throw CancelledError((signal ? "interrupted by " + signal_name(signal) : std::string("cancelled")) + " while " + doing,
                       signal);
}

SignalCancellation::SignalCancellation(Cancellation& cancel) {
  Cancellation* expected = nullptr;
  if (!g_signal_target.compare_exchange_strong(expected, &cancel))
    throw Error("SignalCancellation: another one is already installed");
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESETHAND: a second signal takes the default action, ending the process at once.
  // SA_RESTART: system calls in progress resume instead of failing with EINTR.
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

SignalCancellation::~SignalCancellation() {
  for (int i = 0; i < 2; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  g_signal_target.store(nullptr);
}

}  // namespace bitlens
