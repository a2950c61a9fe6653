#pragma once
// Connecting to the agent inside a container (a node's, or the swarm gateway's) at its port
// published on 127.0.0.1: Docker publishes the port before the agent inside listens, so the
// connection is retried while the container still runs, until a deadline. A wrong token, a
// container that ended, an interruption or the deadline is one sentence (user_error).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "backends/agent/connection.hpp"

namespace troupe::backends::compose {

struct container_agent {
  std::string what;      ///< "the agent of node member-0", for messages
  std::string container; ///< its container's name
  std::string described; ///< "the container RUN-member-0 of node member-0", for messages
  uint16_t port = 0;     ///< on 127.0.0.1
  std::string token;
  std::function<std::string()> state;       ///< the container's state ("" when it is gone)
  std::function<std::string()> output_tail; ///< its last lines, for a container that ended
  std::string interrupted; ///< "interrupted while ..." when the run is interrupted meanwhile
};

std::shared_ptr<agent::connection>
connect_container_agent(const container_agent& c, agent::connection::event_handler on_event,
                        std::chrono::steady_clock::time_point deadline,
                        std::chrono::milliseconds budget, const volatile int* interrupted);

} // namespace troupe::backends::compose
