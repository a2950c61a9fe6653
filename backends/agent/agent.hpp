#pragma once
// The agent: what runs beside the nodes on one host. It serves one orchestrator over a byte
// stream (backends/agent/protocol.hpp, docs/agent-protocol.md) and does what it asks with the
// code the local backend has always used: a local::supervisor for the node processes (own
// process groups, capped logs, parent-death signal, signals, respawn on the same data dir)
// and an agent::fabric for the link relays; an agent::watcher polls the nodes' adapters and
// sends summaries (backends/agent/watch.hpp); an agent::log_counter counts log patterns in
// the nodes' logs (backends/agent/log_counter.hpp).
//
// When its orchestrator goes away (EOF, a broken stream, SIGTERM, SIGHUP) it stops every node
// it started (whole process groups: SIGTERM, each node's grace, SIGKILL) and every relay, and
// removes the network namespaces it made for them (host_netns.hpp), then returns: no node and
// no namespace outlives the run, even after `kill -9` of troupe.
//
// Threads: serve() reads requests on the calling thread; a request that waits (start, stop,
// kill, stop_all, wait_log_drained, probe) runs on a thread of its own, so a slow stop does not
// hold a partition back. Every state change a request made is sent as an event before its
// reply, so the orchestrator's view is current when the reply arrives.

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/fabric.hpp"
#include "backends/agent/host_netns.hpp"
#include "backends/agent/log_counter.hpp"
#include "backends/agent/reverse_tunnels.hpp"
#include "backends/agent/wake_pipe.hpp"
#include "backends/agent/watch.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::agent {

/// One line on the agent's stderr, prefixed with its pid (the orchestrator keeps it in the
/// host's agent log).
void log_line(const std::string& text);

struct agent_options {
  uint64_t fabric_seed = 1;            ///< jitter draws (the orchestrator may set it in hello)
  size_t requests_in_flight_max = 256; ///< waiting requests at once; beyond: an error reply
  std::chrono::milliseconds poll_interval{50}; ///< how often node exits are looked for
  bool log_to_stderr = true; ///< off in-process: troupe's own console is not the agent's log
  std::string token;         ///< when set, the orchestrator's hello must carry it
};

class host_agent {
public:
  // -- constructors -----------------------------------------------------------

  explicit host_agent(agent_options o = {});
  /// Stops every node and relay still running.
  ~host_agent();
  host_agent(const host_agent&) = delete;
  host_agent& operator=(const host_agent&) = delete;

  // -- serving ----------------------------------------------------------------

  /// Serves one orchestrator: its hello, then requests until EOF or stop(); then stops every
  /// node and relay. Returns 0 after a clean end, 2 when the hello failed (the reason was sent
  /// to the peer and logged), 1 when the stream broke.
  int serve(int in_fd, int out_fd);
  /// Ends serve() as an EOF would; async-signal-safe (one write to a pipe).
  void stop() noexcept;
  /// A listening agent: once serve() has accepted an orchestrator's hello, the agent's own
  /// listening socket takes reverse tunnels (reverse_tunnels.hpp) with this agent's token;
  /// they end with the orchestrator. Not before: a refused hello leaves the port to the next
  /// orchestrator (taking tunnels at once answered its reconnect as a tunnel's).
  void accept_tunnels_on(int listen_fd) noexcept { tunnel_listen_fd_ = listen_fd; }

private:
  using handler = std::function<nlohmann::json(const nlohmann::json& args)>;
  struct op {
    handler run;
    bool waits = false; ///< runs on a thread of its own
  };

  void log(const std::string& text) const;
  void dispatch(const nlohmann::json& msg);
  void run_request(uint64_t id, const std::string& name, const op& o, const nlohmann::json& args);
  void publish_changes();
  void send(const nlohmann::json& msg);
  void write_locked(const std::string& bytes); ///< out_mutex_ held
  void shutdown() noexcept;
  void reap_workers(bool all);
  void register_process_ops();
  void register_fabric_ops();
  void register_watch_ops();
  void register_log_ops();
  void register_netns_ops();
  void register_tunnel_ops();
  size_t slot_arg(const nlohmann::json& args) const;
  fabric& fabric_for_setup();

  agent_options opts_;
  std::map<std::string, op> ops_;
  std::unique_ptr<local::supervisor> sup_;
  std::unique_ptr<fabric> fabric_;
  std::unique_ptr<host_netns> netns_;            ///< the namespaces of this host's nodes
  std::unique_ptr<watcher> watcher_;             ///< after sup_: destroyed (its thread ended) first
  std::unique_ptr<log_counter> logs_;            ///< likewise
  std::unique_ptr<reverse_tunnels> tunnels_;     ///< commands reaching the orchestrator
  int tunnel_listen_fd_ = -1;                    ///< see accept_tunnels_on
  std::vector<std::chrono::milliseconds> grace_; ///< per slot
  std::mutex state_mutex_;                       ///< sup_ slots, grace_, fabric_ setup
  std::mutex out_mutex_;                         ///< one frame at a time; published states
  std::vector<std::pair<local::process_state, pid_t>> published_;
  std::mutex workers_mutex_;
  std::list<std::pair<std::thread, std::shared_ptr<bool>>> workers_;
  int out_fd_ = -1;
  bool out_broken_ = false;
  wake_pipe stop_; ///< stop(): serve() ends as at EOF
};

} // namespace troupe::backends::agent
