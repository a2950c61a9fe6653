#include "backends/agent/janitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace troupe::backends::agent {

janitor::janitor(const std::string& script, const std::string& name,
                 const std::vector<std::string>& extra, const std::string& what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot make the pipe of the " + what);
  std::vector<std::string> argv{"/bin/sh", "-c", script, name};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: Ctrl-C in troupe's terminal must not reach it, and it must not die with
  // troupe's process group; default signal dispositions whatever troupe set.
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int err = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[0]);
  if (err != 0) {
    ::close(fds[1]);
    pid_ = -1;
    throw std::runtime_error("cannot start the " + what + " (/bin/sh)");
  }
  pipe_write_ = fds[1];
}

janitor::~janitor() {
  if (pipe_write_ >= 0)
    ::close(pipe_write_);
  if (pid_ <= 0)
    return;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(wait_s_);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until)
      return; // it finishes on its own; init reaps it once troupe exits
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace troupe::backends::agent
