#pragma once
// The arguments and results of the agent protocol's netns_* ops, as JSON
// (docs/agent-protocol.md, "Network namespaces"): a redirect, a drop rule, a forward, a
// namespace made. Both sides (host_netns behind the agent, remote_netns in the orchestrator)
// use these, so a field is named in one place. Readers throw protocol_error naming the field.

#include <nlohmann/json.hpp>

#include "backends/agent/host_netns.hpp"
#include "backends/agent/netns.hpp"

namespace troupe::backends::agent {

nlohmann::json to_json(const node_netns::redirect& r);
node_netns::redirect redirect_from_json(const nlohmann::json& j);

nlohmann::json to_json(const node_netns::drop_rule& r);
node_netns::drop_rule drop_rule_from_json(const nlohmann::json& j);

nlohmann::json to_json(const host_netns::forward& f);
host_netns::forward forward_from_json(const nlohmann::json& j);

nlohmann::json to_json(const host_netns::made& m);
host_netns::made made_from_json(const nlohmann::json& j);

/// An IPv4 address as a number (host byte order), read from field `key`.
uint32_t ipv4_field(const nlohmann::json& j, const char* key);
/// A port (0 to 65535), read from field `key`.
uint16_t port_field(const nlohmann::json& j, const char* key);

} // namespace troupe::backends::agent
