#pragma once
// The live backends' shared params (the local backend's; the ssh backend reads them too, so a
// scenario keeps them when only its backend line changes). Listed in local_backend.hpp.

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/params.hpp"

namespace troupe::backends::local {

struct local_options {
  std::chrono::milliseconds ready_timeout{0}; ///< 0: each program's own
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds rpc_timeout{5000};
  std::chrono::milliseconds setup_timeout{120000};
  uint64_t log_bytes_max = 8u << 20;
  uint32_t log_files_max = 2;
  uint16_t port_min = 20000;
  uint16_t port_max = 32000;
  bool fabric = true;
  std::string agent = "in-process"; ///< or "child"
  std::string agent_binary;         ///< "" = agent_binary_default()
  /// libfaketime under each node that can take it: "auto" (when the scenario asks for clock
  /// skew), "always", "never" (node_clocks.hpp).
  std::string faketime = "auto";
  std::string poll = "orchestrator"; ///< or "agent": who polls the nodes' adapters
};

/// The troupe to run as `troupe agent --stdio`: $TROUPE_AGENT_BINARY, else this program when
/// it is troupe; throws user_error naming the param otherwise (a program that links the
/// engine is not troupe, and cannot be an agent).
std::string agent_binary_default();

/// Reads (and checks) the backend params; the caller calls r.finish().
local_options read_options(params_reader& r);

} // namespace troupe::backends::local
