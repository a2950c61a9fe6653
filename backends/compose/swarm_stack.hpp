#pragma once
// One swarm-mode run's stack on a Swarm manager: deployed from its stack file
// (swarm_file.hpp) with `docker stack deploy --resolve-image never` (the run's images are
// local: nothing is pulled, no registry asked), every task waited for until it runs (bounded
// by the backend's start_timeout), their overlay addresses read from the tasks, then the
// gateway (gateway.hpp) started and told to forward every node's ports. Removal: the gateway,
// `docker stack rm`, then the sweep of the run's label (stack.hpp), which waits, bounded, for
// what Swarm removes on its own time (task containers, then the overlay network).
//
// A node is named by its container name (container_name(), as on compose) towards the hosts;
// here that name stands for the node's one task.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/compose/gateway.hpp"
#include "backends/compose/stack.hpp"

namespace troupe::backends::compose {

/// Throws user_error with one sentence unless the daemon is an active Swarm manager.
void require_swarm_manager();

/// One node of a swarm run: its ports (each forwarded by the gateway).
struct swarm_node {
  std::string id;
  uint16_t agent_port = 0;
  std::map<std::string, uint16_t> ports; ///< the program's, by name
};

/// One task as Swarm reports it.
struct swarm_task {
  std::string node;    ///< its troupe.node label
  std::string state;   ///< Swarm's: new, pending, ..., running, complete, failed, rejected
  std::string error;   ///< Status.Err, when Swarm says why it failed
  std::string address; ///< IPv4 on the run network ("" before it has one)
};

class swarm_stack : public stack {
public:
  swarm_stack(std::string run_id, std::filesystem::path file, gateway_plan gateway,
              std::vector<swarm_node> nodes, const volatile int* interrupted);
  ~swarm_stack() override;

  void up(std::chrono::milliseconds timeout) override;
  network_info network() const override;
  std::string state(const std::string& container) const override;
  std::string output_tail(const std::string& container, size_t lines) const override;
  void down() noexcept override;
  std::string remove_command() const override;
  void add_results(nlohmann::json& out) const override;

  /// Every task of the stack now, by node ("docker stack ps", then the tasks inspected).
  std::map<std::string, swarm_task> tasks() const;

private:
  /// Waits until every node's task runs with an address; throws user_error (a task that
  /// failed, with Swarm's reason; the time bound; an interruption).
  void wait_running(std::chrono::steady_clock::time_point deadline);
  /// The node whose container_name() is `container` ("" when none is).
  std::string node_of(const std::string& container) const;

  std::vector<swarm_node> nodes_;
  const volatile int* interrupted_;
  std::unique_ptr<gateway> gateway_;
  std::map<std::string, swarm_task> running_; ///< by node, once up
  bool deployed_ = false;
};

} // namespace troupe::backends::compose
