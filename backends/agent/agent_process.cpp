#include "backends/agent/agent_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "backends/agent/agent.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

namespace {

/// Stops `a` at `expires_at` (Unix seconds; 0: never) unless destroyed first: a host's
/// time-to-live holds even when nobody tells its agent to stop.
class expiry_watch {
public:
  expiry_watch(host_agent& a, int64_t expires_at) {
    if (expires_at <= 0)
      return;
    const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(expires_at));
    thread_ = std::thread([this, &a, at] {
      std::unique_lock<std::mutex> lock{mutex_};
      if (cv_.wait_until(lock, at, [this] { return done_; }))
        return;
      expired_ = true;
      log_line("the host's time-to-live ran out: stopping every node");
      a.stop();
    });
  }
  ~expiry_watch() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }
  bool expired() const { return expired_; }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> expired_{false};
  std::thread thread_;
};

} // namespace

// -- troupe agent --stdio -------------------------------------------------------

namespace {

host_agent* signalled_agent = nullptr;

void on_stop_signal(int) {
  if (signalled_agent)
    signalled_agent->stop();
  else
    ::_exit(0); // nothing started yet: nothing to stop
}

/// Stderr to `log_file` (when given); false (after saying why) when it cannot be opened.
bool redirect_log(const std::string& log_file) {
  if (log_file.empty())
    return true;
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "troupe: cannot open the agent log %s: %s; pass a writable path\n",
                 log_file.c_str(), std::strerror(errno));
    return false;
  }
  ::dup2(fd, 2);
  ::close(fd);
  return true;
}

void on_signals_stop() {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

} // namespace

int run_stdio_agent(const std::string& log_file, int64_t expires_at) {
  // Frames own stdout: anything else that writes to fd 1 (a library, a stray print) goes to
  // the log instead.
  int out_fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (out_fd < 0) {
    log_line(std::string("cannot duplicate stdout: ") + std::strerror(errno));
    return 1;
  }
  if (!redirect_log(log_file))
    return 2;
  ::dup2(2, 1);
  // The orchestrator's death is this agent's cue to stop: SIGTERM (not SIGKILL), so that
  // the nodes are stopped in order rather than left to their own parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() == 1) {
    log_line("started without an orchestrator (the parent is gone already)");
    return 1;
  }
  on_signals_stop();
  host_agent a;
  signalled_agent = &a;
  log_line("serving on stdio");
  int code = 0;
  {
    expiry_watch ttl{a, expires_at};
    code = a.serve(0, out_fd);
    if (ttl.expired())
      code = 3;
  }
  signalled_agent = nullptr;
  log_line("stopped (every node and relay it started)");
  return code;
}

// -- troupe agent --listen -----------------------------------------------------

namespace {

/// The token in `file` (its first line, without trailing space): "" when it cannot be read.
std::string read_token(const std::string& file) {
  std::ifstream in{file};
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  return token;
}

/// A socket listening on `host:port`, or -1 after saying why.
int listen_on(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "troupe: --listen %s:%u: %s is not an IPv4 address\n", host.c_str(), port,
                 host.c_str());
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 4) != 0) {
    std::fprintf(stderr, "troupe: cannot listen on %s:%u: %s; choose a free port\n", host.c_str(),
                 port, std::strerror(errno));
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

int run_listening_agent(const std::string& host, uint16_t port, const std::string& token_file,
                        const std::string& log_file) {
  agent_options o;
  o.token = token_file.empty() ? std::string{} : read_token(token_file);
  if (o.token.empty()) {
    std::fprintf(stderr,
                 "troupe: --listen needs --token-file with a token in it (%s): anyone who can "
                 "reach the port could run programs otherwise\n",
                 token_file.empty() ? "none given" : token_file.c_str());
    return 2;
  }
  if (!redirect_log(log_file))
    return 2;
  int lfd = listen_on(host, port);
  if (lfd < 0)
    return 2;
  on_signals_stop();
  log_line("listening on " + host + ":" + std::to_string(port));
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      log_line(std::string("accept failed: ") + std::strerror(errno));
      ::close(lfd);
      return 1;
    }
    // A peer that connects and says nothing cannot hold the port: its hello is due in 10 s.
    set_receive_timeout(fd, std::chrono::seconds(10));
    int code;
    {
      host_agent a{o};
      signalled_agent = &a;
      // Once its hello passes, the port takes only the orchestrator's reverse tunnels, until
      // it goes away.
      a.accept_tunnels_on(lfd);
      code = a.serve(fd, fd);
      signalled_agent = nullptr;
    }
    ::close(fd);
    // A refused hello (wrong token or version) started nothing: wait for the next one.
    if (code != 2) {
      ::close(lfd);
      log_line("stopped (every node and relay it started)");
      return code;
    }
  }
}

} // namespace troupe::backends::agent
