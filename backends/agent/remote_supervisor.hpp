#pragma once
// The node processes of one agent, seen from the orchestrator: the same calls as
// local::supervisor (so the local backend's world, proxies and readiness waits use either),
// each one a request over the agent connection. States, PIDs and exit statuses come from the
// agent's events and are kept here, so asking whether a node runs costs no round trip; the
// agent sends a request's events before its reply, so they are current when a call returns.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/connection.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::agent {

class remote_supervisor {
public:
  using process_state = local::process_state;

  // -- constructors -----------------------------------------------------------

  remote_supervisor() = default;
  /// Set once, before the first call (the connection's event handler is on_event()).
  void attach(std::shared_ptr<connection> c) { conn_ = std::move(c); }
  /// From now on the agent `c` serves these slots (their host was replaced: a Kubernetes
  /// pod that came back after it was deleted), each added to it again with `opts` (one per
  /// slot, in slot order: the settings rendered for the new host); every slot is idle until
  /// started. Throws agent_error with the agent's reason.
  void reattach(std::shared_ptr<connection> c, std::vector<local::process_options> opts);
  /// Takes one event from the agent (called on the connection's reader thread).
  void on_event(const nlohmann::json& e);

  // -- processes (as local::supervisor) -----------------------------------------

  size_t add(local::process_options opts,
             std::chrono::milliseconds stop_grace = std::chrono::seconds(5));
  /// Throws std::runtime_error with the agent's reason.
  void start(size_t slot);
  bool stop(size_t slot, std::chrono::milliseconds grace);
  bool kill(size_t slot);
  bool pause(size_t slot);
  bool resume(size_t slot);
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
  /// At most the last `bytes` bytes of the node's log, from its host (the agent's log_tail).
  std::string log_tail_bytes(size_t slot, size_t bytes) const;
  const local::process_options& options(size_t slot) const;
  size_t size() const;

private:
  struct slot_view {
    local::process_options opts;
    std::chrono::milliseconds stop_grace{5000};
    process_state state = process_state::idle;
    pid_t pid = -1;
    std::string status; ///< exit description once exited
  };
  /// A control request: true when the agent did it.
  bool control(const char* op, size_t slot, nlohmann::json extra = nlohmann::json::object(),
               std::chrono::milliseconds timeout = std::chrono::seconds(30)) noexcept;

  std::shared_ptr<connection> conn() const;

  std::shared_ptr<connection> conn_; ///< guarded by mutex_ (reattach)
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::unique_ptr<slot_view>> slots_; ///< stable addresses: options() refers in
  std::vector<pid_t> spawned_;
};

} // namespace troupe::backends::agent
