#pragma once
// The `local` backend: one process per node on this machine, each in its own process group,
// with unique ports (checked free) and a data dir under the run directory, joined by the
// topology's layout, deployed in parallel, readiness by the program's probe, logs to
// nodes/<id>.log (size-capped, rotated), node control by signals and respawn, and teardown
// on every path (success, failure, exception, SIGINT/SIGTERM) — no orphan process.
//
// Backend params (the scenario's "backend": {"name": "local", "poll_interval": "500ms", ...}):
//   ready_timeout  (duration; default: each program's own)    poll_interval (default 1s)
//   rpc_timeout    (default 5s)       setup_timeout (default 120s: wallets, funding, sync)
//   log_bytes_max  (default 8388608)  log_files_max (default 2)
//   port_min / port_max (default 20000 / 32000: below Linux's ephemeral range)
//   fabric (default true): link relays between the peers of programs that name their peer
//     port (backends/agent/fabric.hpp), so partitions, one-way cuts, clogs and set_link work
//   agent (default "in-process"): where the agent that runs the nodes and relays lives: on a
//     thread of troupe ("in-process") or as a child process `troupe agent --stdio`
//     ("child"); both speak the agent protocol (docs/agent-protocol.md)
//   agent_binary (default: this troupe, or $TROUPE_AGENT_BINARY): the troupe of "child"
//   faketime (auto | always | never; default auto: when the scenario skews clocks):
//     libfaketime under every node whose program reads time through libc
//   poll (default "orchestrator"): who polls the nodes' adapters for status and blocks: each
//     proxy ("orchestrator") or the agent, which sends summaries on a change ("agent")
//
// Everything runs through agents, one per host (hosts.hpp): this machine's alone here; the
// ssh backend is this backend over the hosts of its fleet, the compose backend over one
// container per node.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>

#include "actors/backend.hpp"
#include "actors/params.hpp"
#include "actors/scenario/leadership.hpp"
#include "backends/local/hosts.hpp"
#include "backends/local/local_options.hpp"
#include "backends/local/metrics_scraper.hpp"
#include "backends/local/ports.hpp"
#include "backends/local/program.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

/// Checks a group's node params against its program (built-in name or file path).
void validate_node(params_reader& r, const group& g, const std::string& program_ref);

/// Who produces blocks among a program's nodes: `params.leader` when it is a boolean, else
/// the roles the program's "blocks" section lists, else every role but "observer" (as the
/// sim's chain model). A program without "blocks" makes its own blocks (or none).
leadership program_leadership(const program& p, const std::string& role,
                              const nlohmann::json& params);

/// The same for a group of a scenario being validated (loads the program).
leadership program_leadership(const group& g, const std::string& program_ref);

class local_backend : public backend {
public:
  // -- constructors -----------------------------------------------------------

  /// This machine, one agent (local_hosts).
  local_backend();
  /// Over other hosts (the ssh backend's).
  explicit local_backend(std::unique_ptr<hosts> h);
  ~local_backend() override;

  // -- backend ----------------------------------------------------------------

  std::string name() const override { return hosts_->backend(); }
  deployment deploy(caf::actor_system& sys, const scenario& s, const expanded_topology& topo,
                    const run_env& env) override;
  void drive(caf::actor_system& sys, const std::function<bool()>& done) override;
  std::string ended_early_because() const override { return ended_because_; }
  void teardown() noexcept override;
  nlohmann::json results() const override;
  std::optional<std::string> refusal(const fault_request& r, const scenario& s,
                                     const expanded_topology& topo) const override;

  // -- observation (tests, benchmarks) ------------------------------------------

  /// Every PID this backend spawned (alive or not).
  std::vector<pid_t> spawned_pids() const;
  /// PIDs still alive.
  std::vector<pid_t> live_pids() const;
  world_ptr shared_world() const { return world_; }

private:
  void build_nodes(const scenario& s, const expanded_topology& topo, const run_env& env);
  /// The agent of every host, and the supervisor that speaks to them.
  void start_agents(const scenario& s, const expanded_topology& topo, const run_env& env);
  /// Node `i`'s command line and environment (`binary`, its args and env rendered with its
  /// values and its peers'), and its "peers" value.
  process_options render_command(size_t i, const std::string& binary);
  /// The rest of node `i`'s settings: its files on its host (in `po`), its adapter settings,
  /// finality depth, probe port and whether it produces blocks.
  void render_settings(size_t i, process_options& po);
  /// Takes the host that replaced lost host `host` (a Kubernetes pod the StatefulSet made
  /// again after a delete_pod kill; adopt_host.cpp): "" once its nodes can be started there,
  /// else why not.
  std::string adopt_host(size_t host);
  /// Why the nodes of host `host` cannot move to a new address, if they cannot.
  std::optional<std::string> adoption_refusal(size_t host) const;
  /// Each node's template values: ids, its host's address and directories, ports.
  void set_vars(live_node& node, const run_env& env);
  /// Poll "agent": asks the agent to watch every node (the proxies then read its summaries).
  void start_watches();
  /// The same for node `i`.
  void watch(size_t i);
  /// Relays for every link a relayed program's node dials (before any node starts).
  void build_relays(const run_env& env);
  /// How peers reach node `i` (its program's join.peer, rendered with its values).
  std::string endpoint_of(size_t i) const;
  /// How node `i` reaches its peer `j` through the link relay beside it (join.peer).
  std::string relayed_endpoint(size_t i, size_t j) const;
  void start_all(const run_env& env);
  void setup_wallets(const run_env& env);
  void start_actors(caf::actor_system& sys);
  /// Remote hosts: the tail of each node's log to nodes/<id>.log (at teardown, after the
  /// nodes stopped, before their agents end).
  void fetch_log_tails() noexcept;
  /// The groups with a `scrape` key, as scraper targets (checked: the program has metrics).
  std::vector<scrape_target> scrape_targets(const scenario& s) const;

  std::unique_ptr<hosts> hosts_;
  local_options opts_;
  world_ptr world_;
  std::vector<std::unique_ptr<port_allocator>> ports_; ///< per host
  std::filesystem::path run_dir_;
  std::vector<caf::actor> actors_;
  std::unique_ptr<metrics_scraper> scraper_;
  std::map<std::pair<size_t, size_t>, uint16_t> relay_ports_; ///< (node, peer) -> relay port
  const volatile int* interrupted_ = nullptr;
  std::mutex adopting_; ///< adopt_host, or teardown: one at a time; adopted_
  nlohmann::json adopted_ = nlohmann::json::array(); ///< report.json "adopted_hosts"
  bool torn_down_ = true;
  std::string ended_because_; ///< hosts::ended(), when it stopped drive()
  nlohmann::json timing_ = nlohmann::json::object();
};

} // namespace troupe::backends::local
