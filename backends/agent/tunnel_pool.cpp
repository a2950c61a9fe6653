#include "backends/agent/tunnel_pool.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "backends/agent/connection.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/agent/splice.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

/// A connected (blocking) socket to `address`:`port` within 5 s, or -1 (errno says why): a
/// pod that is gone must not hold the pool, or the run's teardown, for TCP's own timeout.
int dial(const std::string& address, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    errno = EINVAL;
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int e = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    e = errno;
    if (e == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      socklen_t len = sizeof e;
      e = ::poll(&p, 1, 5000) == 1 ? 0 : ETIMEDOUT;
      if (e == 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
        e = errno;
    }
  }
  if (e != 0) {
    ::close(fd);
    errno = e;
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

} // namespace

// -- constructors ---------------------------------------------------------------

tunnel_pool::tunnel_pool(tunnel_pool_options o)
  : opts_(std::move(o)) {}

tunnel_pool::~tunnel_pool() { close(); }

void tunnel_pool::close() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_)
      return;
    closed_ = true;
  }
  stop_.signal();
  if (manager_.joinable())
    manager_.join();
  tunnels_.join_all();
  std::lock_guard<std::mutex> guard{mutex_};
  for (int fd : parked_)
    ::close(fd);
  parked_.clear();
}

// -- serving --------------------------------------------------------------------

int tunnel_pool::park_one() const {
  const auto where = opts_.address + ":" + std::to_string(opts_.port);
  int fd = dial(opts_.address, opts_.port);
  if (fd < 0)
    throw agent_error(opts_.what + " at " + where + " takes no reverse tunnel (" +
                      std::strerror(errno) + ")");
  auto hello = hello_message();
  hello["role"] = "tunnel";
  hello["token"] = opts_.token;
  std::string why;
  set_receive_timeout(fd, opts_.hello_timeout);
  try {
    if (!write_all(fd, encode_frame(hello)))
      why = "the connection ended before the tunnel's hello";
    else if (auto answer = read_frame_exact(fd, 4096); !answer)
      why = "no answer to the tunnel's hello within " +
            std::to_string(opts_.hello_timeout.count() / 1000) + " s";
    else if (type_of(*answer) == "error")
      why = "it refused a reverse tunnel: " + field_or<std::string>(*answer, "reason", "");
    else
      why = check_hello(*answer, opts_.what);
  } catch (const protocol_error& e) {
    why = e.what();
  }
  if (!why.empty()) {
    ::close(fd);
    throw agent_error(opts_.what + " at " + where + ": " + why);
  }
  set_receive_timeout(fd, std::chrono::milliseconds(0));
  return fd;
}

void tunnel_pool::allow(uint16_t port) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_)
    throw agent_error(opts_.what + ": the run is ending");
  allowed_.insert(port);
  if (manager_.joinable())
    return;
  while (parked_.size() < opts_.parked)
    parked_.push_back(park_one());
  manager_ = std::thread([this] { manage(); });
}

void tunnel_pool::manage() {
  auto last_failure = std::chrono::steady_clock::time_point{};
  for (;;) {
    std::vector<pollfd> fds{{stop_.read_fd(), POLLIN, 0}};
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (int fd : parked_)
        fds.push_back({fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
      return;
    if (fds[0].revents & POLLIN)
      return;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents)
        continue;
      {
        std::lock_guard<std::mutex> guard{mutex_};
        parked_.erase(std::remove(parked_.begin(), parked_.end(), fds[i].fd), parked_.end());
      }
      open_from(fds[i].fd);
    }
    // At once after a tunnel was used; after a refill failed (the agent is gone, or holds its
    // limit), a second later.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_failure >= std::chrono::seconds(1) && !top_up())
      last_failure = now;
  }
}

bool tunnel_pool::top_up() {
  for (;;) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (closed_ || parked_.size() >= opts_.parked)
        return true;
    }
    int fd = -1;
    try {
      fd = park_one();
    } catch (const agent_error&) {
      return false;
    }
    std::lock_guard<std::mutex> guard{mutex_};
    parked_.push_back(fd);
  }
}

void tunnel_pool::open_from(int fd) {
  // The open frame is written whole at once: a short wait bounds a confused peer.
  set_receive_timeout(fd, std::chrono::milliseconds(2000));
  uint16_t to_port = 0;
  try {
    if (auto msg = read_frame_exact(fd, 4096); msg && type_of(*msg) == "open") {
      const auto p = field<int64_t>(*msg, "to_port");
      to_port = p > 0 && p <= 65535 ? static_cast<uint16_t>(p) : 0;
    }
  } catch (const protocol_error&) {
  }
  set_receive_timeout(fd, std::chrono::milliseconds(0));
  std::unique_lock<std::mutex> lock{mutex_};
  if (to_port == 0 || !allowed_.count(to_port)) {
    // EOF (the agent is ending, or replaced it) or a port this run never offered.
    if (to_port != 0)
      ++refused_;
    lock.unlock();
    ::close(fd);
    return;
  }
  lock.unlock();
  int target = dial("127.0.0.1", to_port);
  lock.lock();
  if (target < 0) {
    ++dial_failures_;
    lock.unlock();
    ::close(fd);
    return;
  }
  const bool started = !closed_ && tunnels_.spawn(
                                     [this, fd, target] {
                                       splice_both_ways(fd, target, stop_.read_fd());
                                       ::close(fd);
                                       ::close(target);
                                     },
                                     opts_.open_max);
  ++(started ? opened_ : refused_);
  if (!started) {
    ::close(fd);
    ::close(target);
  }
}

// -- observation ----------------------------------------------------------------

json tunnel_pool::stats() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return {{"parked", parked_.size()},
          {"opened", opened_},
          {"refused", refused_},
          {"dial_failures", dial_failures_}};
}

} // namespace troupe::backends::agent
