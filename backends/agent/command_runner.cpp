#include "backends/agent/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>

extern char** environ;

namespace troupe::backends::agent {

namespace {

using steady = std::chrono::steady_clock;

/// The agent's own executable, which is troupe (a command runs `"$TROUPE_BIN" sync ...`).
std::string own_executable() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{};
}

/// The environment the child gets: the agent's and TROUPE_BIN, with `extra` set over it.
std::vector<std::string> environment(std::vector<std::pair<std::string, std::string>> extra) {
  bool named = false;
  for (const auto& [k, v] : extra)
    named = named || k == troupe_bin_env;
  if (!named)
    extra.emplace_back(troupe_bin_env, own_executable());
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    const auto name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra)
      replaced = replaced || k == name;
    if (!replaced)
      out.push_back(std::move(kv));
  }
  for (const auto& [k, v] : extra)
    out.push_back(k + "=" + v);
  return out;
}

/// Keeps the last lines of a stream, bounded in lines and bytes.
class tail_keeper {
public:
  tail_keeper(size_t lines, size_t bytes)
    : lines_max_(std::max<size_t>(lines, 1))
    , bytes_max_(bytes) {}
  void feed(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] == '\n') {
        push(std::move(partial_));
        partial_.clear();
      } else if (partial_.size() < bytes_max_) {
        partial_ += p[i];
      }
    }
  }
  std::string text() {
    if (!partial_.empty())
      push(std::move(partial_)), partial_.clear();
    std::string out;
    for (const auto& l : lines_)
      out += l + "\n";
    return out;
  }

private:
  void push(std::string l) {
    bytes_ += l.size() + 1;
    lines_.push_back(std::move(l));
    while (lines_.size() > lines_max_ || (bytes_ > bytes_max_ && lines_.size() > 1)) {
      bytes_ -= lines_.front().size() + 1;
      lines_.pop_front();
    }
  }
  size_t lines_max_, bytes_max_, bytes_ = 0;
  std::deque<std::string> lines_;
  std::string partial_;
};

std::string describe(int status, bool timed_out, std::chrono::milliseconds timeout) {
  if (timed_out)
    return "killed after the " + std::to_string(timeout.count()) + " ms timeout";
  if (WIFEXITED(status))
    return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  return "ended (status " + std::to_string(status) + ")";
}

} // namespace

command_outcome run_command(const command_spec& spec) {
  const auto started = steady::now();
  auto env = environment(spec.env);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cmd = spec.command;
  const std::string cwd = spec.cwd.string();
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, cmd.data(), nullptr};

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("cannot run the command: pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("cannot run the command: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
      ::_exit(126);
    ::execve(sh, argv, envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);

  tail_keeper tail{spec.tail_lines, spec.tail_bytes_max};
  const auto deadline = started + spec.timeout;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    if (left <= 0) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 200)));
    if (r < 0 && errno != EINTR)
      break;
    if (r <= 0)
      continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0)
      tail.feed(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR)
      break; // EOF: every writer (the shell and what it started) closed the pipe
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out)
    ::kill(-pid, SIGKILL); // what the command left running in its group goes with it
  command_outcome out;
  out.timed_out = timed_out;
  out.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  out.status = describe(status, timed_out, spec.timeout);
  out.tail = tail.text();
  out.seconds = std::chrono::duration<double>(steady::now() - started).count();
  return out;
}

} // namespace troupe::backends::agent
