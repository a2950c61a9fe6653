#pragma once
// A `troupe` command started by a test as a child process, so the test can signal it
// (SIGINT, SIGTERM, SIGKILL) mid-run and wait for it, bounded. Its stdout and stderr go to
// one file.
//
//   auto child = troupe::test::start_troupe_child({"run", scenario, "--out", dir}, dir + ".log");
//   ::kill(child, SIGINT);
//   EXPECT_EQ(troupe::test::wait_exit(child, 60s), 130);

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test {

/// Starts the troupe binary with `args`, its output into `log`; returns its PID.
inline pid_t start_troupe_child(std::vector<std::string> args, const std::filesystem::path& log) {
  args.insert(args.begin(), troupe_binary());
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log_path = log.string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for `pid` (bounded): its exit code, 128 + the signal that ended it, or -1 after
/// `limit` (it is killed then).
inline int wait_exit(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  bool done = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, limit,
                         std::chrono::milliseconds(100));
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace troupe::test
