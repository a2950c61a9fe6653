#pragma once
// Two connected stream sockets joined into one: what a reverse tunnel does at each of its
// ends (backends/agent/reverse_tunnels.hpp, tunnel_pool.hpp) once both sockets exist.

namespace troupe::backends::agent {

/// Copies bytes both ways between the stream sockets `a` and `b` until each direction has
/// ended (an EOF from one side shuts the other's write side, so a half-closed HTTP request
/// still gets its answer), either breaks, or `stop_fd` turns readable. At most 64 KiB per
/// direction is held (the sender waits while the receiver does not read). Makes both sockets
/// non-blocking; closes neither.
void splice_both_ways(int a, int b, int stop_fd);

} // namespace troupe::backends::agent
