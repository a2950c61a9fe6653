#pragma once
// The node processes of a deployment's agents, one agent per host (the local backend has one,
// the ssh backend one per host of its fleet), with the calls of local::supervisor over slots
// numbered across every host in the order the nodes were added. Each call goes to the
// remote_supervisor of the slot's host, with that host's own slot; host h's agent events come
// in through on_event(h, ...). PIDs are each host's own.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/remote_supervisor.hpp"

namespace troupe::backends::agent {

class multi_supervisor {
public:
  using process_state = local::process_state;

  // -- hosts ------------------------------------------------------------------

  /// Adds a host whose agent is `c`, before any node; returns its index (0, 1, ...).
  size_t add_host(std::shared_ptr<connection> c);
  /// Takes one event from host `host`'s agent (on its connection's reader thread).
  void on_event(size_t host, const nlohmann::json& e);
  size_t hosts() const;
  /// The agent of host `host`.
  std::shared_ptr<connection> agent(size_t host) const;
  /// Host `host`'s agent is `c` from now on (a Kubernetes pod replaced after it was deleted),
  /// its nodes added to it again with `opts` (by host slot: their settings for the new
  /// host), each idle until started. Its old agent must be closed: its events would be
  /// taken as the new one's. Throws agent_error.
  void reattach_host(size_t host, std::shared_ptr<connection> c,
                     std::vector<local::process_options> opts);

  // -- slots ------------------------------------------------------------------

  /// Adds a node on host `host`; returns its slot (across every host).
  size_t add(size_t host, local::process_options opts,
             std::chrono::milliseconds stop_grace = std::chrono::seconds(5));
  size_t host_of(size_t slot) const;
  /// The slot on its host's agent (what that agent's requests and summaries name).
  size_t host_slot(size_t slot) const;
  /// The slot of host `host`'s slot `host_slot`, or SIZE_MAX when it has none.
  size_t slot_of(size_t host, size_t host_slot) const;

  // -- processes (as local::supervisor) -----------------------------------------

  /// Throws std::runtime_error with the agent's reason.
  void start(size_t slot);
  bool stop(size_t slot, std::chrono::milliseconds grace);
  bool kill(size_t slot);
  bool pause(size_t slot);
  bool resume(size_t slot);
  /// Every host's nodes, the hosts in parallel.
  void stop_all(std::chrono::milliseconds grace) noexcept;

  // -- observation ------------------------------------------------------------

  process_state state(size_t slot) const;
  pid_t pid(size_t slot) const;
  std::vector<pid_t> live_pids() const;
  std::vector<pid_t> all_pids() const;
  std::string exit_description(size_t slot) const;
  bool wait_exit(size_t slot, std::chrono::milliseconds timeout) const;
  void wait_log_drained(size_t slot, std::chrono::milliseconds timeout) const;
  std::string log_tail(size_t slot, size_t lines) const;
  std::string log_tail_bytes(size_t slot, size_t bytes) const;
  const local::process_options& options(size_t slot) const;
  size_t size() const;

private:
  struct place {
    size_t host;
    size_t host_slot;
  };
  place at(size_t slot) const;
  remote_supervisor& sup(size_t host) const { return *hosts_.at(host).sup; }

  struct host {
    std::shared_ptr<connection> agent;
    std::unique_ptr<remote_supervisor> sup;
    std::vector<size_t> slots; ///< host slot -> slot
  };
  std::vector<host> hosts_;  ///< fixed once nodes are added
  mutable std::mutex mutex_; ///< slots_ and each host's slots
  std::vector<place> slots_;
};

} // namespace troupe::backends::agent
