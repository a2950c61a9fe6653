#pragma once
// The compose backend's hosts, for the local backend's deployment (backends/local/hosts.hpp):
// one container per node, each a host with its own agent. The ports are chosen first, on
// 127.0.0.1 (each checked free), since they are published before any node exists: a node
// listens on its container's address at the same number, so peers dial it on the run network
// and troupe at 127.0.0.1 (live_host::reach_address). `{reached_from}` is the run network's
// subnet, where Docker's port publishing arrives from (litecoind's -rpcallowip).
// In swarm mode the stack is a swarm_stack: the same ports, published by its gateway, and the
// tasks' overlay addresses in place of the containers'.

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/agent/reverse_reach.hpp"
#include "backends/compose/compose_backend.hpp"
#include "backends/compose/compose_file.hpp"
#include "backends/compose/stack.hpp"
#include "backends/local/hosts.hpp"
#include "backends/local/ports.hpp"

namespace troupe::backends::compose {

class compose_hosts : public local::hosts {
public:
  ~compose_hosts() override { close(); }

  std::string backend() const override { return "compose"; }
  local::local_options options(const scenario& s) const override;
  std::string binary(const local::program& p) const override;
  std::vector<started> start(const scenario& s, const expanded_topology& topo, const run_env& env,
                             const local::local_options& o, const handler_for& on_event) override;
  std::vector<size_t> placement() const override { return placement_; }
  std::map<std::string, uint16_t> ports_of(size_t node) const override;
  local::host_limits limits() const override { return compose_limits(); }
  uint64_t log_tail_bytes() const override { return 65536; }
  void close() noexcept override;
  void add_results(nlohmann::json& out) const override;
  std::string reach_here(size_t host, uint16_t port) override;

  /// What the compose backend cannot do to its containers' nodes, and why.
  static local::host_limits compose_limits();

private:
  /// Ports of every node (the agent's and the program's), on 127.0.0.1.
  void choose_ports(const expanded_topology& topo, const std::filesystem::path& base_dir);
  /// The run's plan and Compose file (RUN/compose/docker-compose.yml); makes stack_.
  void write_stack(const expanded_topology& topo, const std::filesystem::path& base_dir,
                   const std::filesystem::path& dir, const std::filesystem::path& token_file,
                   const std::string& token, const volatile int* interrupted);
  /// A swarm-mode run's stack (swarm_stack.hpp): the gateway's plan from the chosen ports.
  std::unique_ptr<stack> make_swarm_stack(const stack_plan& plan, const std::filesystem::path& file,
                                          const std::string& token,
                                          const volatile int* interrupted) const;
  /// Every container's agent, in parallel (the first error, or the interruption, thrown).
  void connect_all(const std::string& token, const handler_for& on_event,
                   const volatile int* interrupted);
  /// The containers as the deployment's hosts, on the run network `net`.
  std::vector<started> hosts_on(const network_info& net);
  /// Connects to node `i`'s agent, retrying until it answers or the budget runs out.
  std::shared_ptr<agent::connection> connect(size_t i, const std::string& token,
                                             agent::connection::event_handler on_event,
                                             const volatile int* interrupted);

  mutable compose_options opts_;
  mutable std::map<std::string, std::string> images_; ///< program name -> image
  std::unique_ptr<local::port_allocator> ports_;
  std::vector<std::string> nodes_; ///< node ids, topology order
  std::vector<uint16_t> agent_ports_;
  uint16_t gateway_port_ = 0; ///< swarm mode: the gateway's agent
  std::vector<std::map<std::string, uint16_t>> node_ports_;
  std::vector<size_t> placement_;
  std::unique_ptr<stack> stack_;
  std::vector<std::shared_ptr<agent::connection>> agents_;
  agent::reverse_reach reach_; ///< the sync service, for the containers' commands
  nlohmann::json info_;
  bool closed_ = true;
};

} // namespace troupe::backends::compose
