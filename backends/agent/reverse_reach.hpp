#pragma once
// How commands on hosts that cannot dial this machine (containers, pods) reach a port on its
// 127.0.0.1 (the run's sync service): through reverse tunnels over each host's agent
// (reverse_tunnels.hpp at the agent, tunnel_pool.hpp here). The first reach() for a host
// and port asks the host's agent for a port of its own standing for it ("tunnel_listen") and
// parks the host's tunnels; the same host and port later is the same answer.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/connection.hpp"
#include "backends/agent/tunnel_pool.hpp"

namespace troupe::backends::agent {

class reverse_reach {
public:
  /// close().
  ~reverse_reach() { close(); }

  /// Host `host`'s agent: its connection, and how the run reaches its listening port (the
  /// address, port and token its connection used). Hosts are added in order, from 0.
  void add_host(std::shared_ptr<connection> agent, tunnel_pool_options where);
  /// The "127.0.0.1:PORT" a command on host `host` dials to reach 127.0.0.1:`port` here.
  /// Throws agent_error with one sentence naming the host's agent.
  std::string reach(size_t host, uint16_t port);
  /// Host `host`'s agent was replaced (a Kubernetes pod that came back after it was
  /// deleted): its tunnels end, and the next reach() opens them through `agent`.
  void replace_host(size_t host, std::shared_ptr<connection> agent, tunnel_pool_options where);
  /// Ends every host's tunnels; idempotent; never throws.
  void close() noexcept;
  /// Per host that has tunnels: {"host", "ports": {"PORT here": port there}, "tunnels": {...}}
  /// (and "replaced_agents_tunnels": [...] once its agent was replaced).
  nlohmann::json stats() const;

private:
  struct host_end {
    std::shared_ptr<connection> agent;
    tunnel_pool_options where;
    std::unique_ptr<tunnel_pool> pool;  ///< made by the first reach()
    std::map<uint16_t, uint16_t> ports; ///< port here -> the agent's port standing for it
    nlohmann::json replaced;            ///< the stats of the tunnels of agents it replaced
  };

  mutable std::mutex mutex_;
  std::vector<host_end> hosts_;
};

} // namespace troupe::backends::agent
