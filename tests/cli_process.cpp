// The child-process runner of the CLI tests (see cli_process.h).
#include "cli_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

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

}  // namespace

CliProcess::CliProcess(const std::vector<std::string>& args, const EnvChanges& env)
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
  const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
}

CliProcess::~CliProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::filesystem::remove(out_path_);
  std::filesystem::remove(err_path_);
}

bool CliProcess::running() {
  if (reaped_) return false;
  const pid_t r = ::waitpid(pid_, &wait_status_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

void CliProcess::send(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

CliResult CliProcess::wait() {
  if (!reaped_) {
    while (::waitpid(pid_, &wait_status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  CliResult r;
  if (WIFEXITED(wait_status_)) r.status = WEXITSTATUS(wait_status_);
  if (WIFSIGNALED(wait_status_)) r.signal = WTERMSIG(wait_status_);
  r.out = read_text_file(out_path_);
  r.err = read_text_file(err_path_);
  return r;
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

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace bitlens::test
