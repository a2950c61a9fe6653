#pragma once
// Readiness probes that only make sense on the node's own host: a TCP connect, or an HTTP GET
// of a path, on the address the node listens on (127.0.0.1 unless the backend bound its nodes
// to the host's own address; the agent's `probe` op; docs/agent-protocol.md). A probe through the
// node's adapter (a status call) stays with the orchestrator, which holds the adapters.

#include <cstdint>
#include <string>

namespace troupe::backends::agent {

struct probe_request {
  std::string kind;                  ///< tcp | http
  std::string address = "127.0.0.1"; ///< an IPv4 address of this host
  uint16_t port = 0;
  std::string path = "/";
  std::string expect; ///< http: the body must contain it (empty: any 2xx)
};

/// One probe: "" when the node answered as asked, else what it did instead (one phrase).
std::string probe_once(const probe_request& r);

} // namespace troupe::backends::agent
