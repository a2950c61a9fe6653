#pragma once
// The stack file of one swarm-mode run (`docker stack deploy -c FILE RUN_ID`), from the same
// plan as the Compose file (compose_file.hpp), a pure function so its output is checked as it
// is. The same services, each running its image's troupe agent, with what Swarm needs instead:
//   - no container_name and no ports: Swarm publishes only through its routing mesh or host
//     mode, both on every interface, and troupe reaches containers only through ports on
//     127.0.0.1; the gateway container (gateway.hpp) publishes them and forwards each one;
//   - deploy: restart_policy none (the agent is PID 1 and restarts its node itself; Swarm
//     must not replace a task, with a new address, under a run) and the troupe.run label on
//     the service;
//   - the run network an attachable overlay (the gateway, a plain container, joins it);
//   - the token as a Swarm secret (a bind mount of troupe's file exists only on troupe's
//     machine; a secret reaches a task on any machine of the Swarm), at /run/secrets/;
//   - one named volume per node, created by the engine where its task runs.
// The label troupe.run=<run id> is on every service, container, network, volume and secret.

#include <nlohmann/json.hpp>

#include "backends/compose/compose_file.hpp"

namespace troupe::backends::compose {

/// Where a swarm task's agent finds the run's token (the secret's target).
constexpr const char* swarm_token_path = "/run/secrets/troupe-token";

/// The Swarm service of node `node` (the stack namespace, then the service's name).
std::string service_name(const std::string& run_id, const std::string& node);

nlohmann::json swarm_file(const stack_plan& plan);

} // namespace troupe::backends::compose
