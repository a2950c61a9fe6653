#pragma once
// The Compose file of one run, from what the compose backend planned (a pure function, so its
// output is checked as it is): one service per node, each running its image's troupe agent
// (`/troupe/bin/troupe agent --listen 0.0.0.0:PORT --token-file /troupe/token`), which starts
// the node's program; the run's own network; a named volume per node at /troupe/run (the
// node's data, logs and PID file); every port published on 127.0.0.1 only, at the number the
// container listens on; the label troupe.run=<run id> on every container, network and volume;
// the agent's own output capped by the json-file log driver (the nodes' logs are the agent's,
// capped, never `docker logs`). Written as JSON, which is YAML: both Compose tools read it.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::compose {

/// One node's container.
struct service_plan {
  std::string node; ///< node id (the service's name and hostname)
  std::string image;
  uint16_t agent_port = 0;     ///< the agent listens there, published on 127.0.0.1
  std::vector<uint16_t> ports; ///< the node program's ports, published the same way
};

struct stack_plan {
  std::string run_id;     ///< the Compose project, the network's name, the troupe.run label
  std::string token_file; ///< on this machine, mounted read-only at /troupe/token
  std::vector<service_plan> services;
};

/// Where a node's files live inside its container (its volume).
constexpr const char* container_run_dir = "/troupe/run";

/// The container of node `node` in run `run_id`.
std::string container_name(const std::string& run_id, const std::string& node);

/// What every node's container runs after the image's troupe: its agent on 0.0.0.0:`port`,
/// with the run's token from `token_path` inside.
nlohmann::json agent_command(uint16_t port, const std::string& token_path);

/// Docker's publish spec of `port` on 127.0.0.1 only, at the same number: "127.0.0.1:P:P".
std::string published_on_loopback(uint16_t port);

nlohmann::json compose_file(const stack_plan& plan);

} // namespace troupe::backends::compose
