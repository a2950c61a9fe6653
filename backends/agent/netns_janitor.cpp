#include "backends/agent/netns_janitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "backends/agent/netns.hpp"

extern char** environ;

namespace troupe::backends::agent {

namespace {

// $1 is the ip command, the rest the namespaces. `read` returns non-zero only at end of file:
// the pipe's one writer (troupe) closed it or died. Errors are silenced: after a normal
// teardown every namespace is already gone.
constexpr const char* janitor_script =
  "while read -r _; do :; done; ip=\"$1\"; shift; "
  "for n in \"$@\"; do \"$ip\" netns delete \"$n\" >/dev/null 2>&1; done; exit 0";

constexpr auto exit_wait_max = std::chrono::seconds(5);

} // namespace

netns_janitor::netns_janitor(const std::vector<std::string>& names) {
  auto ip = ip_tool();
  if (ip.empty())
    throw std::runtime_error("no `ip` command to remove network namespaces with");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot make the pipe of the namespace janitor");
  std::vector<std::string> argv{"/bin/sh", "-c", janitor_script, "troupe-netns-janitor", ip};
  argv.insert(argv.end(), names.begin(), names.end());
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
    throw std::runtime_error("cannot start the namespace janitor (/bin/sh)");
  }
  pipe_write_ = fds[1];
}

netns_janitor::~netns_janitor() {
  if (pipe_write_ >= 0)
    ::close(pipe_write_);
  if (pid_ <= 0)
    return;
  auto until = std::chrono::steady_clock::now() + exit_wait_max;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until)
      return; // it finishes on its own; init reaps it once troupe exits
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace troupe::backends::agent
