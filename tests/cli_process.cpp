// The child-process runner of the CLI tests (see cli_process.h).
#include "cli_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "common/error.h"
#include "common/file_io.h"

extern char** environ;

namespace bitlens::test {

namespace {

std::string scratch_path(const std::string& what) {
  static int counter = 0;
  return (std::filesystem::temp_directory_path() /
          ("bitlens_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + what))
      .string();
}

std::string errno_text() { return std::strerror(errno); }

// A pseudo-terminal: the master (non-blocking, for the test) and the slave (for the child's
// stdout), without output processing so that lines end in '\n' as printed.
std::pair<int, int> open_terminal() {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
    throw Error("cannot open a pseudo-terminal for a child's stdout: " + errno_text());
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) throw Error("cannot open the pseudo-terminal " + std::string(::ptsname(master)) + ": " + errno_text());
  termios t{};
  ::tcgetattr(slave, &t);
  t.c_oflag &= ~OPOST;
  ::tcsetattr(slave, TCSANOW, &t);
  return {master, slave};
}

}  // namespace

CliProcess::CliProcess(const std::vector<std::string>& args, const EnvChanges& env, ChildStdout stdout_to)
    : out_path_(scratch_path("out.txt")), err_path_(scratch_path("err.txt")) {
  // Everything the child needs is prepared here: after fork() it only calls async-signal-safe functions.
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [name, value] : env) {
    if (value)
      vars[name] = *value;
    else
      vars.erase(name);
  }
  std::vector<std::string> env_strings, arg_strings{BITLENS_CLI};
  for (const auto& [name, value] : vars) env_strings.push_back(name + "=" + value);
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  for (auto& s : arg_strings) argv.push_back(s.data());
  envp.push_back(nullptr);
  argv.push_back(nullptr);
  int out = -1;
  if (stdout_to == ChildStdout::Terminal)
    std::tie(terminal_, out) = open_terminal();
  else
    out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0 || err < 0) throw Error("cannot create the output files of a child process");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  if (pid_ < 0) throw Error("fork failed");
  pidfd_ = int(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) throw Error("pidfd_open failed (Linux 5.3 or later is needed): " + errno_text());
}

CliProcess::~CliProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (terminal_ >= 0) ::close(terminal_);
  std::filesystem::remove(out_path_);
  std::filesystem::remove(err_path_);
}

void CliProcess::send(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

CliResult CliProcess::wait() {
  // Read the terminal until the child ends, so that it never blocks on a full one.
  if (terminal_ >= 0) {
    while (read_terminal() && poll_with_child(terminal_, std::chrono::steady_clock::time_point::max())) {
    }
    read_terminal();
  }
  if (!reaped_) {
    while (::waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  CliResult r;
  if (WIFEXITED(wait_status_)) r.status = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) r.signal = WTERMSIG(wait_status_);
  r.out = terminal_ >= 0 ? out_ : read_text_file(out_path_);
  r.err = read_text_file(err_path_);
  return r;
}

bool CliProcess::poll_with_child(int fd, std::chrono::steady_clock::time_point deadline) {
  const bool forever = deadline == std::chrono::steady_clock::time_point::max();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    const int64_t left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    const int timeout_ms = forever ? -1 : int(std::min<int64_t>(left, 1 << 30));
    pollfd fds[2] = {{fd, POLLIN, 0}, {pidfd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno != EINTR) throw Error("poll failed: " + errno_text());
    if (n <= 0) continue;
    if (fds[0].revents) return true;
    if (fds[1].revents) return false;
  }
}

bool CliProcess::read_terminal() {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(terminal_, buf, sizeof(buf));
    if (n > 0) {
      out_.append(buf, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;  // EIO (or 0): the child has closed it
  }
}

bool CliProcess::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  if (terminal_ < 0) throw Error("wait_for_output needs the child's stdout on a terminal (ChildStdout::Terminal)");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool open = read_terminal();
    if (out_.find(text) != std::string::npos) return true;
    if (!open || !poll_with_child(terminal_, deadline)) break;
  }
  read_terminal();  // what the child printed just before it ended
  return out_.find(text) != std::string::npos;
}

bool CliProcess::wait_in_folder(const std::string& dir, const std::function<bool()>& ready,
                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw Error("inotify_init1 failed: " + errno_text());
  if (::inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw Error("cannot watch " + dir + ": " + why);
  }
  // Asked after the watch began, so that nothing created in between is missed.
  bool held = ready();
  alignas(inotify_event) char events[4096];
  for (bool changed = true; !held && changed;) {
    changed = poll_with_child(fd, deadline);
    while (::read(fd, events, sizeof(events)) > 0) {
    }
    held = ready();  // also once more when the child has ended or the time is up
  }
  ::close(fd);
  return held;
}

CliResult run_bitlens(const std::vector<std::string>& args, const EnvChanges& env) {
  CliProcess p(args, env);
  return p.wait();
}

CliResult run_bitlens_shell(const std::string& args) {
  const std::string err_file = scratch_path("stderr.txt");
  const std::string cmd = std::string("'") + BITLENS_CLI + "' " + args + " 2>'" + err_file + "'";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text_file(err_file);
  std::filesystem::remove(err_file);
  return r;
}

bool has_entry(const std::string& dir, const std::string& part) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(part) != std::string::npos) return true;
  return false;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace bitlens::test
