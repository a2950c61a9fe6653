#pragma once
// The arguments and results of the agent protocol's ops, as JSON (docs/agent-protocol.md):
// a node process to run, a link change, a directed link's stats. Both sides use these, so a
// field is named in one place. Readers throw protocol_error naming the field.

#include <chrono>

#include <nlohmann/json.hpp>

#include "backends/agent/fabric.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::agent {

/// `add_node`: the process and how long it may take to stop on SIGTERM.
struct node_spec {
  local::process_options process;
  std::chrono::milliseconds stop_grace{5000};
};

nlohmann::json to_json(const node_spec& n);
node_spec node_spec_from_json(const nlohmann::json& j);

nlohmann::json to_json(const link_change& c);
link_change link_change_from_json(const nlohmann::json& j);

nlohmann::json to_json(const link_stats& s);
link_stats link_stats_from_json(const nlohmann::json& j);

const char* to_string(local::process_state s) noexcept;
local::process_state process_state_from_string(const std::string& s);

} // namespace troupe::backends::agent
