// Stopping long work cleanly: a Cancellation is requested by another thread (the inspector's Stop
// button) or, through SignalCancellation, by Ctrl-C (SIGINT) or SIGTERM. The work checks it at safe
// points and throws CancelledError; writers then remove their temporary file, so an interrupted job
// leaves no partial output and the previous output, if any, untouched.
#pragma once

#include <atomic>
#include <string>

#include "common/error.h"

namespace bitlens {

struct CancelledError : Error {
  CancelledError(const std::string& message, int signal) : Error(message), signal(signal) {}
  int signal;  // the signal that asked for it (SIGINT, SIGTERM), 0 when requested by the program
};

class Cancellation {
 public:
  // Asks the work to stop; `signal` records why (0: by the program). Async-signal-safe.
  void request(int signal = 0) noexcept { reason_.store(signal > 0 ? signal : kByProgram); }
  bool requested() const noexcept { return reason_.load() != 0; }
  void reset() noexcept { reason_.store(0); }
  // Throws CancelledError ("interrupted by SIGINT while <doing>") when a stop was requested.
  void check(const std::string& doing) const;

 private:
  static constexpr int kByProgram = -1;
  std::atomic<int> reason_{0};
  static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");
};

// While alive, SIGINT and SIGTERM request `cancel` instead of ending the process; a second signal
// ends it at once (the default action), for work that does not reach a check. Restores the previous
// handlers when destroyed. Only one may be alive at a time (Error otherwise).
class SignalCancellation {
 public:
  explicit SignalCancellation(Cancellation& cancel);
  ~SignalCancellation();
  SignalCancellation(const SignalCancellation&) = delete;
  SignalCancellation& operator=(const SignalCancellation&) = delete;
};

// "SIGINT", "SIGTERM", "signal N".
std::string signal_name(int signal);

}  // namespace bitlens
