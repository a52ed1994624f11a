// Test helper: runs the `bitlens` executable as a child process with a changed environment,
// capturing stdout and stderr, so tests can check exit statuses and messages, and send signals
// (Ctrl-C) while it works.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace bitlens::test {

struct CliResult {
  int status = -1;  // exit status, or -1 if the process was ended by a signal
  int signal = 0;   // the signal that ended it, if any
  std::string out, err;
};

// Environment changes: NAME=value, or NAME alone (nullopt) to remove it.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

class CliProcess {
 public:
  // Starts BITLENS_CLI with `args` in the test's environment changed by `env`.
  explicit CliProcess(const std::vector<std::string>& args, const EnvChanges& env = {});
  ~CliProcess();  // kills the child if it still runs
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();            // false once the child has ended (then wait() returns at once)
  void send(int signal);     // kill(pid, signal) while it runs
  CliResult wait();          // waits for the end and reads what it printed

 private:
  pid_t pid_ = -1;
  int wait_status_ = 0;
  bool reaped_ = false;
  std::string out_path_, err_path_;
};

// Runs to completion.
CliResult run_bitlens(const std::vector<std::string>& args, const EnvChanges& env = {});
// Runs `bitlens <args>` through the shell (args quoted as on a command line) to completion.
CliResult run_bitlens_shell(const std::string& args);

// Lines of `text` (without their '\n').
std::vector<std::string> lines_of(const std::string& text);

}  // namespace bitlens::test
