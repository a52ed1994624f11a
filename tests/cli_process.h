// Test helper: runs the `bitlens` executable as a child process with a changed environment,
// capturing stdout and stderr, so tests can check exit statuses and messages, wait (with a
// deadline, without sleeping) for the child to print a line or create a file, and send signals
// (Ctrl-C) while it works.
#pragma once

#include <chrono>
#include <functional>
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

// Where the child's stdout goes: a file read when it ends, or a terminal that wait_for_output reads
// while it runs (stdio then flushes each line as it is printed). Stderr always goes to a file.
enum class ChildStdout { File, Terminal };

class CliProcess {
 public:
  // Starts BITLENS_CLI with `args` in the test's environment changed by `env`.
  explicit CliProcess(const std::vector<std::string>& args, const EnvChanges& env = {},
                      ChildStdout stdout_to = ChildStdout::File);
  ~CliProcess();  // kills the child if it still runs
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  void send(int signal);  // kill(pid, signal) while it runs
  CliResult wait();       // waits for the end and reads what it printed

  // Blocks until the child has printed `text` on stdout (ChildStdout::Terminal), the child ends, or
  // `timeout` passes; true when the text came.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // Blocks until `ready()` holds, the child ends, or `timeout` passes; true when it held. `ready` is
  // asked now and whenever an entry is created in (or moved into) folder `dir`.
  bool wait_in_folder(const std::string& dir, const std::function<bool()>& ready, std::chrono::milliseconds timeout);

 private:
  // Reads what the terminal holds into out_ without blocking; false once the child closed it.
  bool read_terminal();
  // Waits up to the deadline for `fd` to be readable or the child to end; true if `fd` is readable.
  bool poll_with_child(int fd, std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int pidfd_ = -1;     // readable once the child has ended
  int terminal_ = -1;  // the master side of the child's stdout terminal, or -1
  int wait_status_ = 0;
  bool reaped_ = false;
  std::string out_;  // what the terminal gave so far
  std::string out_path_, err_path_;
};

// Runs to completion.
CliResult run_bitlens(const std::vector<std::string>& args, const EnvChanges& env = {});
// Runs `bitlens <args>` through the shell (args quoted as on a command line) to completion.
CliResult run_bitlens_shell(const std::string& args);

// True when folder `dir` holds an entry whose name contains `part`.
bool has_entry(const std::string& dir, const std::string& part);

// Lines of `text` (without their '\n').
std::vector<std::string> lines_of(const std::string& text);

}  // namespace bitlens::test
