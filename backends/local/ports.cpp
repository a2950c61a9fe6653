#include "backends/local/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

#include "actors/errors.hpp"

namespace troupe::backends::local {

namespace {

// Ports handed out by any allocator of this process, by address: two deployments in one
// process (tests) must not race for the same port between the bind test and the node's bind.
std::mutex taken_mutex;
std::set<std::pair<uint32_t, uint16_t>> taken;

} // namespace

port_allocator::port_allocator(uint16_t port_min, uint16_t port_max, uint32_t address)
  : min_(port_min)
  , max_(port_max)
  , address_(address) {
  auto span = static_cast<uint32_t>(max_ - min_) + 1;
  cursor_ = static_cast<uint32_t>(::getpid()) * 7919u % span;
}

port_allocator::~port_allocator() { release_all(); }

bool port_allocator::is_free(uint16_t port, uint32_t address) noexcept {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(address);
  // No SO_REUSEADDR: a port in TIME_WAIT counts as busy, which errs on the safe side.
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  const bool elsewhere = !bound && errno == EADDRNOTAVAIL; // a remote host's address
  bool ok = elsewhere || (bound && ::listen(fd, 1) == 0);
  ::close(fd);
  return ok;
}

uint16_t port_allocator::allocate(const std::string& what) {
  std::lock_guard<std::mutex> guard{taken_mutex};
  auto span = static_cast<uint32_t>(max_ - min_) + 1;
  for (uint32_t tried = 0; tried < span; ++tried) {
    auto port = static_cast<uint16_t>(min_ + (cursor_++ % span));
    if (taken.count({address_, port}) || !is_free(port, address_))
      continue;
    taken.insert({address_, port});
    mine_.push_back(port);
    return port;
  }
  throw user_error("no free port for " + what + " in " + std::to_string(min_) + "-" +
                   std::to_string(max_) + ": widen the local backend's port_min/port_max");
}

uint16_t port_allocator::reserve(uint16_t port, const std::string& what) {
  std::lock_guard<std::mutex> guard{taken_mutex};
  if (taken.count({address_, port}) || !is_free(port, address_))
    throw user_error("port " + std::to_string(port) + " (" + what +
                     ") is already in use by another process: free it or change the "
                     "program's port base");
  taken.insert({address_, port});
  mine_.push_back(port);
  return port;
}

void port_allocator::release_all() noexcept {
  std::lock_guard<std::mutex> guard{taken_mutex};
  for (auto p : mine_)
    taken.erase({address_, p});
  mine_.clear();
}

} // namespace troupe::backends::local
