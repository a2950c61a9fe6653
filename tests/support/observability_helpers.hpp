#pragma once
// Helpers for the observability tests: free loopback ports, child processes we start (and
// only those: stopped by their pid), headless Chromium with a bounded run time.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace troupe::test {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh temporary directory under the build directory's test area.
inline std::filesystem::path temp_dir(const std::string& name) {
  return troupe::test::fresh_dir("obs-" + name);
}

/// Where tests keep artifacts (screenshots) for people to look at.
inline std::filesystem::path artifacts_dir() {
  auto d = std::filesystem::path(troupe::test::build_dir()) / "test-artifacts";
  std::filesystem::create_directories(d);
  return d;
}

/// A child process with stdout and stderr to `log`; killed (by pid) if still running when
/// destroyed.
class child {
public:
  child(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  /// Exit code, or -1 when it did not exit within `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  /// Sends `sig` to the child (ours: we started it).
  void signal(int sig) {
    if (pid_ > 0 && !exited_)
      ::kill(pid_, sig);
  }
  bool running() {
    if (exited_)
      return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_)
      exited_ = true;
    return !exited_;
  }

private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

/// Runs a shell command; returns its exit code.
inline int shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline bool have_chromium() { return shell("command -v chromium >/dev/null 2>&1") == 0; }

/// Headless Chromium, bounded to 60 s, with a fresh profile; `args` are extra flags and the
/// URL. Returns what it printed on stdout (the DOM with --dump-dom).
inline std::string chromium(const std::string& args) {
  auto profile = temp_dir("chromium-profile");
  auto out = profile / "stdout.txt";
  std::string cmd =
    "timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--user-data-dir=" +
    profile.string() + " " + args + " > " + out.string() + " 2>/dev/null";
  shell(cmd);
  auto text = read_text(out);
  std::filesystem::remove_all(profile);
  return text;
}

inline size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1))
    ++n;
  return n;
}

/// The text of the element with id `id` in an HTML dump ("" when absent).
inline std::string element_text(const std::string& html, const std::string& id) {
  auto p = html.find("id=\"" + id + "\"");
  if (p == std::string::npos)
    return "";
  auto start = html.find('>', p);
  auto end = html.find('<', start);
  return html.substr(start + 1, end - start - 1);
}

} // namespace troupe::test
