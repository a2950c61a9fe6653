#pragma once
// Port allocation for the nodes of one host. Every port is checked free by binding it on the
// host's address (127.0.0.1 for the local backend) before a node gets it, when that address is
// one of this machine's (an ssh host on loopback); no port is handed out twice on one address
// by one troupe process. The search starts at an offset derived from the process id, so that
// two troupe runs on one machine (parallel tests) rarely probe the same ports. A remote host's
// ports cannot be checked from here: there, only the range (port_min/port_max) keeps them
// apart from the host's own services.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::backends::local {

class port_allocator {
public:
  // -- constructors -----------------------------------------------------------

  /// `address`: the host's IPv4 address in host byte order.
  port_allocator(uint16_t port_min, uint16_t port_max, uint32_t address = 0x7f000001);
  ~port_allocator();
  port_allocator(const port_allocator&) = delete;
  port_allocator& operator=(const port_allocator&) = delete;

  // -- allocation -------------------------------------------------------------

  /// A free port from the range; throws troupe::user_error when none is left. `what` names
  /// the port in that message (e.g. "rpc_port of validator-0").
  uint16_t allocate(const std::string& what);

  /// Reserves exactly `port` (a program pinned it); throws troupe::user_error naming `what`
  /// and the fix when another process holds it.
  uint16_t reserve(uint16_t port, const std::string& what);

  /// Gives every port of this allocator back (teardown).
  void release_all() noexcept;

  /// True when a TCP listener could bind address:port right now (or the address is not this
  /// machine's, so nothing here can tell).
  static bool is_free(uint16_t port, uint32_t address = 0x7f000001) noexcept;

private:
  uint16_t min_;
  uint16_t max_;
  uint32_t address_;
  uint32_t cursor_;
  std::vector<uint16_t> mine_; ///< on address_
};

} // namespace troupe::backends::local
