#pragma once
// The network namespaces of one host's nodes, seen from the orchestrator: the calls of
// host_netns, each one a request over the host's agent connection (the netns_* ops,
// docs/agent-protocol.md). The local backend's one host and each ssh host are reached the
// same way, so the namespaces are always made by the agent beside the nodes, on their host.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/agent/connection.hpp"
#include "backends/agent/host_netns.hpp"

namespace troupe::backends::agent {

class remote_netns {
public:
  // -- constructors -----------------------------------------------------------

  explicit remote_netns(std::shared_ptr<connection> c)
    : conn_(std::move(c)) {}

  // -- queries ----------------------------------------------------------------

  /// Why the agent's host cannot make namespaces (netns_refusal, evaluated there), or
  /// nothing. Throws agent_error when the agent does not answer.
  std::optional<std::string> refusal() const;

  // -- setup (as host_netns; each throws agent_error with the agent's reason) -----

  std::vector<host_netns::made> make(const std::string& tag, const std::vector<size_t>& indices);
  void install(size_t index, const std::vector<node_netns::redirect>& out,
               const std::vector<uint16_t>& ports, uint32_t host_addr,
               const std::vector<host_netns::forward>& forwards,
               const std::filesystem::path& rules_file);
  void set_drops(size_t index, const std::vector<node_netns::drop_rule>& rules,
                 const std::filesystem::path& rules_file);

  // -- observation ------------------------------------------------------------

  uint64_t dropped_packets() const;

  // -- teardown ---------------------------------------------------------------

  /// Asks the agent to remove them (it also does when its stream ends); never throws.
  void remove() noexcept;

private:
  std::shared_ptr<connection> conn_;
};

} // namespace troupe::backends::agent
