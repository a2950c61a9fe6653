#pragma once
// Port allocation for local nodes. Every port is checked free by binding it on 127.0.0.1
// before a node gets it, and no port is handed out twice by one troupe process. The search
// starts at an offset derived from the process id, so that two troupe runs on one machine
// (parallel tests) rarely probe the same ports.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::backends::local {

class port_allocator {
public:
  // -- constructors -----------------------------------------------------------

  port_allocator(uint16_t port_min, uint16_t port_max);
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

  /// True when a TCP listener could bind 127.0.0.1:port right now.
  static bool is_free(uint16_t port) noexcept;

private:
  uint16_t min_;
  uint16_t max_;
  uint32_t cursor_;
  std::vector<uint16_t> mine_;
};

} // namespace troupe::backends::local
