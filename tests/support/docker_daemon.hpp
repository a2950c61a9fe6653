#pragma once
// A Docker daemon for the tests that run containers (the compose backend, `troupe image
// build`, bench_containers). One per test process, shared by its tests:
//
//   auto& d = troupe::test::docker();           // DOCKER_HOST is set for this process
//   if (!d.error().empty()) GTEST_SKIP() << d.error();
//
// It uses a daemon that already answers (at $DOCKER_HOST, else the default socket); otherwise
// it starts its own `dockerd` (Debian docker.io) as a child of the test: its state under
// `<build>/test-runs/docker/` (kept between runs, so images built once are there next time),
// its socket, exec root and PID file under a short /tmp path (a unix socket path has at most
// 108 bytes, and the build directory of a CI clone can be long), no default bridge and no
// masquerading (the runs' own networks need neither: their containers reach each other on
// their bridge, which the daemon's own FORWARD rules admit, and published ports go through
// docker-proxy on 127.0.0.1; nothing leaves the machine), an address
// pool of its own (10.150-189.x.0/24, by PID) so that two such daemons on one machine never
// route the same subnet. It is stopped by the PID in its PID file (SIGTERM, then SIGKILL after
// 30 s) when the process ends. Tests using Docker never run concurrently: they share the ctest
// RESOURCE_LOCK "docker" (tests/CMakeLists.txt).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test {

class docker_daemon {
public:
  docker_daemon() {
    if (answers(current_host())) {
      host_ = current_host();
      publish();
      return;
    }
    if (::geteuid() != 0) {
      error_ = "no Docker daemon answers (DOCKER_HOST or /var/run/docker.sock) and only root "
               "can start one: start dockerd, or run the Docker tests as root";
      return;
    }
    if (shell("command -v dockerd", 10).code != 0) {
      error_ = "no Docker daemon answers and dockerd is missing: install docker.io "
               "(TROUPE_SKIP_BUILD=1 scripts/setup.sh)";
      return;
    }
    start_own();
  }
  ~docker_daemon() { stop(); }
  docker_daemon(const docker_daemon&) = delete;
  docker_daemon& operator=(const docker_daemon&) = delete;

  /// Why there is no daemon ("" when there is one).
  const std::string& error() const { return error_; }
  /// Its DOCKER_HOST ("unix:///...").
  const std::string& host() const { return host_; }
  /// Whether this process started it.
  bool own() const { return pid_ > 0; }
  /// `docker ARGS` against it, bounded.
  shell_outcome docker(const std::string& args, int seconds = 120) const {
    return shell("docker " + args, seconds);
  }

private:
  static std::string current_host() {
    const char* h = std::getenv("DOCKER_HOST");
    return h && *h ? h : "unix:///var/run/docker.sock";
  }

  static bool answers(const std::string& host) {
    return shell("DOCKER_HOST=" + shell_quote(host) +
                   " docker version --format '{{.Server.Version}}'",
                 20)
             .code == 0;
  }

  /// DOCKER_HOST for this process and every command it starts (troupe, docker, compose).
  void publish() { ::setenv("DOCKER_HOST", host_.c_str(), 1); }

  void start_own() {
    namespace fs = std::filesystem;
    const auto state = fs::path{build_dir()} / "test-runs" / "docker";
    short_ = fs::path{"/tmp"} / ("troupe-dockerd-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::create_directories(state / "data", ec);
    fs::remove_all(short_, ec);
    fs::create_directories(short_ / "exec", ec);
    const auto sock = short_ / "docker.sock";
    pidfile_ = short_ / "dockerd.pid";
    const auto pool = "base=10." + std::to_string(150 + ::getpid() % 40) + ".0.0/16,size=24";
    std::vector<std::string> args{"dockerd",
                                  "--data-root",
                                  (state / "data").string(),
                                  "--exec-root",
                                  (short_ / "exec").string(),
                                  "--pidfile",
                                  pidfile_.string(),
                                  "-H",
                                  "unix://" + sock.string(),
                                  "--ip-masq=false",
                                  "--bridge=none",
                                  "--default-address-pool",
                                  pool};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto log = (state / "dockerd.log").string();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0); // the terminal's Ctrl-C reaches the test, which stops it in order
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    host_ = "unix://" + sock.string();
    // Containers can take a while on a loaded machine; the daemon itself comes up in ~1 s.
    if (!wait_until([&] { return answers(host_) || !alive(); }, std::chrono::seconds(90),
                    std::chrono::milliseconds(200))) {
      error_ = "dockerd did not answer on " + host_ + " within 90 s; see " + log;
      stop();
      return;
    }
    if (!alive()) {
      error_ = "dockerd exited while starting; see " + log;
      stop();
      return;
    }
    publish();
  }

  bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  /// By the PID in its PID file (its own PID: it was started as this process's child).
  void stop() {
    if (pid_ <= 0)
      return;
    pid_t target = pid_;
    std::ifstream in{pidfile_};
    pid_t from_file = 0;
    if (in >> from_file && from_file == pid_)
      target = from_file;
    ::kill(target, SIGTERM);
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                    std::chrono::seconds(30), std::chrono::milliseconds(100))) {
      ::kill(target, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    std::error_code ec;
    std::filesystem::remove_all(short_, ec);
  }

  std::string error_;
  std::string host_;
  pid_t pid_ = -1;
  std::filesystem::path short_;
  std::filesystem::path pidfile_;
};

/// The test process's daemon, started at the first call and stopped when the process ends.
inline docker_daemon& docker() {
  static docker_daemon d;
  return d;
}

} // namespace troupe::test
