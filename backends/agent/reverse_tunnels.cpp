#include "backends/agent/reverse_tunnels.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "backends/agent/agent.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/agent/splice.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

/// A socket listening on 127.0.0.1 at a free port, and the port.
std::pair<int, uint16_t> listen_on_loopback() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1 for a reverse tunnel (" + why + ")");
  }
  return {fd, ntohs(addr.sin_port)};
}

/// A parked connection the orchestrator has closed (or that sent bytes out of turn) is
/// readable; a live one is not.
bool still_parked(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

} // namespace

// -- constructors ---------------------------------------------------------------

reverse_tunnels::reverse_tunnels(limits l)
  : limits_(l) {}

reverse_tunnels::~reverse_tunnels() { close(); }

void reverse_tunnels::close() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (closed_)
      return;
    closed_ = true;
  }
  stop_.signal();
  parked_changed_.notify_all();
  if (loop_.joinable())
    loop_.join();
  tunnels_.join_all();
  std::lock_guard<std::mutex> guard{mutex_};
  for (int fd : parked_)
    ::close(fd);
  parked_.clear();
  for (auto& [to_port, l] : listeners_)
    ::close(l.first);
  listeners_.clear();
}

// -- serving --------------------------------------------------------------------

void reverse_tunnels::start_loop() {
  if (!loop_.joinable())
    loop_ = std::thread([this] { accept_loop(); });
  wake_.signal();
}

void reverse_tunnels::accept_on(int listen_fd, const std::string& token) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_)
    return;
  agent_listen_fd_ = listen_fd;
  token_ = token;
  start_loop();
}

uint16_t reverse_tunnels::listen(uint16_t to_port) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (closed_)
    throw std::runtime_error("the agent is stopping");
  if (auto it = listeners_.find(to_port); it != listeners_.end())
    return it->second.second;
  auto l = listen_on_loopback();
  listeners_[to_port] = l;
  start_loop();
  return l.second;
}

void reverse_tunnels::accept_loop() {
  for (;;) {
    std::vector<pollfd> fds{{stop_.read_fd(), POLLIN, 0}, {wake_.read_fd(), POLLIN, 0}};
    std::vector<uint16_t> to_ports{0, 0}; // 0: the agent's own port
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (agent_listen_fd_ >= 0) {
        fds.push_back({agent_listen_fd_, POLLIN, 0});
        to_ports.push_back(0);
      }
      for (const auto& [to_port, l] : listeners_) {
        fds.push_back({l.first, POLLIN, 0});
        to_ports.push_back(to_port);
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
      return;
    if (fds[0].revents & POLLIN)
      return;
    if (fds[1].revents & POLLIN)
      wake_.drain();
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN))
        continue;
      int fd = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      if (to_ports[i] == 0)
        take_tunnel_hello(fd);
      else
        open_tunnel(fd, to_ports[i]);
    }
  }
}

void reverse_tunnels::take_tunnel_hello(int fd) {
  set_receive_timeout(fd, limits_.hello_wait);
  std::string why;
  try {
    auto hello = read_frame_exact(fd, 4096);
    why = hello ? check_hello(*hello, "the tunnel connection")
                : "the connection sent no hello within its time";
    if (why.empty() && field_or<std::string>(*hello, "role", "") != "tunnel")
      why = "this agent serves an orchestrator already; its port takes only reverse tunnels "
            "now (a hello with \"role\": \"tunnel\")";
    else if (why.empty() && field_or<std::string>(*hello, "token", "") != token_)
      why = "the tunnel's token does not match this agent's --token-file";
  } catch (const protocol_error& e) {
    why = std::string("the tunnel connection broke its hello: ") + e.what();
  }
  std::unique_lock<std::mutex> lock{mutex_};
  if (why.empty() && parked_.size() >= limits_.idle_max)
    why = "this agent holds " + std::to_string(parked_.size()) +
          " idle reverse tunnels already, its limit";
  if (!why.empty()) {
    ++refused_;
    lock.unlock();
    write_all(fd, encode_frame(error_message(why)));
    ::close(fd);
    return;
  }
  auto ok = hello_message();
  ok["role"] = "tunnel";
  set_receive_timeout(fd, std::chrono::milliseconds(0));
  if (!write_all(fd, encode_frame(ok))) {
    ::close(fd);
    return;
  }
  parked_.push_back(fd);
  parked_changed_.notify_one();
}

int reverse_tunnels::take_parked() {
  std::unique_lock<std::mutex> lock{mutex_};
  const auto deadline = std::chrono::steady_clock::now() + limits_.parked_wait;
  for (;;) {
    while (!parked_.empty()) {
      int fd = parked_.front();
      parked_.pop_front();
      if (still_parked(fd))
        return fd;
      ::close(fd);
    }
    if (closed_ ||
        !parked_changed_.wait_until(lock, deadline, [this] { return closed_ || !parked_.empty(); }))
      return -1;
  }
}

void reverse_tunnels::open_tunnel(int client, uint16_t to_port) {
  bool started = false;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    started =
      !closed_ &&
      tunnels_.spawn([this, client, to_port] { splice_tunnel(client, to_port); }, limits_.open_max);
    if (!started)
      ++refused_;
  }
  if (!started)
    ::close(client);
}

void reverse_tunnels::splice_tunnel(int client, uint16_t to_port) {
  int parked = take_parked();
  if (parked < 0)
    log_line("a command's connection to the orchestrator's port " + std::to_string(to_port) +
             " found no reverse tunnel free in time; closed it");
  const bool opened =
    parked >= 0 && write_all(parked, encode_frame({{"type", "open"}, {"to_port", to_port}}));
  if (opened)
    splice_both_ways(client, parked, stop_.read_fd());
  if (parked >= 0)
    ::close(parked);
  ::close(client);
  std::lock_guard<std::mutex> guard{mutex_};
  ++(opened ? opened_ : refused_);
}

// -- observation ----------------------------------------------------------------

json reverse_tunnels::stats() const {
  std::lock_guard<std::mutex> guard{mutex_};
  json listening = json::object();
  for (const auto& [to_port, l] : listeners_)
    listening[std::to_string(to_port)] = l.second;
  return {{"listening", listening},
          {"parked", parked_.size()},
          {"open", tunnels_.running()},
          {"opened", opened_},
          {"refused", refused_}};
}

} // namespace troupe::backends::agent
