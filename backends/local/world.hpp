#pragma once
// What the actors of one live deployment share: its hosts and their agents (the local
// backend: this machine and one agent; the ssh backend: one agent per host of its fleet), the
// node processes, each node's rendered settings, the transaction id map and run counters.
// Read-only after deploy, except for the parts guarded by their own locks or atomics.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <nlohmann/json.hpp>

#include "actors/scenario/topology.hpp"
#include "backends/adapters/adapter.hpp"
#include "backends/adapters/tx_index.hpp"
#include "backends/agent/clock_skew.hpp"
#include "backends/agent/connection.hpp"
#include "backends/agent/fabric.hpp"
#include "backends/agent/host_netns.hpp"
#include "backends/agent/multi_fabric.hpp"
#include "backends/agent/multi_supervisor.hpp"
#include "backends/agent/remote_netns.hpp"
#include "backends/local/capabilities.hpp"
#include "backends/local/program.hpp"
#include "backends/local/summary_board.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::local {

using adapters::tx_index;

/// One host of a deployment, with one agent (`world::sup` and `world::fabric` reach it by
/// its index).
struct live_host {
  std::string name = "local";        ///< "local", or the ssh inventory's name
  std::string address = "127.0.0.1"; ///< its nodes listen there; troupe reaches them there
  uint32_t ipv4 = 0x7f000001;        ///< `address`, in host byte order
  std::filesystem::path nodes_dir;   ///< on the host: node data dirs, logs and PID files
  /// Its files are not on this machine: logs stay there, nodes/<id>.log gets a tail at the end.
  bool remote = false;
  /// Where troupe reaches the nodes' ports when that is not `address` (a container: its
  /// ports published on 127.0.0.1, at the same numbers); "" = `address`.
  std::string reach_address;
  /// Where troupe's connections to the nodes come from, as the node sees them (template
  /// value `{reached_from}`: 127.0.0.1 here, a container network's subnet on compose, where
  /// Docker's port publishing arrives from its gateway).
  std::string reached_from = "127.0.0.1";

  /// The address troupe's adapters, probes from here and scrapers dial.
  const std::string& reach() const { return reach_address.empty() ? address : reach_address; }
};

/// One node as the local backend runs it.
struct live_node {
  node_info info;
  program_ptr prog;
  size_t host = 0;                 ///< index into world::hosts
  size_t slot = SIZE_MAX;          ///< supervisor slot (SIZE_MAX: not yet added)
  template_vars vars;              ///< the node's template values (ports, dirs, params)
  nlohmann::json adapter_settings; ///< rendered, as troupe reaches the node
  /// Rendered as the node's own agent reaches it (its host's address), when that differs
  /// (compose); null: `adapter_settings`.
  nlohmann::json agent_adapter_settings;
  std::string endpoint; ///< how peers reach it (the program's join.peer)
  /// How this node reaches each peer it dials (peer index -> join.peer): the peer's own
  /// endpoint, or the link relay's when its traffic goes through the fabric.
  std::map<size_t, std::string> peer_endpoints;
  uint64_t finality_depth = 0;
  uint16_t probe_port = 0;    ///< http/tcp probes
  bool producer = false;      ///< takes part in the block lottery
  std::string address;        ///< wallet address that payments to this node use
  std::string reward_address; ///< wallet address its mined blocks pay to
};

struct counters {
  std::atomic<uint64_t> slots{0};
  std::atomic<uint64_t> leaders{0};
  std::atomic<uint64_t> blocks_produced{0};
  std::atomic<uint64_t> produce_errors{0};
  std::atomic<uint64_t> txs_submitted{0};
  std::atomic<uint64_t> txs_accepted{0};
  std::atomic<uint64_t> rpc_errors{0};
  std::atomic<uint64_t> control_actions{0};
  /// Adapters the proxies made to reach their nodes (RPC connections from troupe itself).
  std::atomic<uint64_t> proxy_adapters{0};
  nlohmann::json to_json() const;
};

struct world {
  std::vector<live_node> nodes;
  expanded_topology topo;
  /// Where the nodes run, each host with its agent (local: one, in-process or a child process
  /// by the backend param "agent"); `sup` and `fabric` speak to those agents.
  std::vector<live_host> hosts;
  std::shared_ptr<agent::multi_supervisor> sup;
  /// The link relays between peers (null with the backend param "fabric": false).
  std::shared_ptr<agent::multi_fabric> fabric;
  /// What these hosts cannot give the nodes (ssh: namespaces), for caps().
  host_limits limits;
  /// hosts::reach_here: the "HOST:PORT" a command on host h dials to reach 127.0.0.1:PORT here.
  std::function<std::string(size_t host, uint16_t port)> reach_here;
  /// hosts::crash and hosts::lost (null: the hosts make no crash of their own).
  std::function<std::optional<std::string>(size_t host)> crash_host;
  std::function<std::optional<std::string>(size_t host)> host_lost;
  /// Takes the host that replaced lost host `host` (k8s: the pod made again after a
  /// delete_pod kill), with its new address: "" once its nodes can start there, else why not.
  std::function<std::string(size_t host)> adopt_host;
  /// Guards what adopt_host changes while other actors read it: each host's address and
  /// ipv4, each node's adapter settings, endpoint and peer endpoints (their values).
  mutable std::mutex addresses_mutex;
  /// Each node's libfaketime clock, by node index (null: that node cannot be skewed).
  std::vector<std::shared_ptr<agent::node_clock>> clocks;
  /// Each node's network namespace, by node index (none: it runs in its host's own), made on
  /// its host by the host's agent (node_namespaces.hpp), and each host's namespaces (null: it
  /// has none), by host index. Each agent removes them, and forwards into them, itself.
  std::vector<std::optional<agent::host_netns::made>> netns;
  std::vector<std::shared_ptr<agent::remote_netns>> netns_hosts;
  /// (from, to) -> the port of the relay between namespaced nodes, and the packet loss that
  /// set_link gave the link (node indices).
  std::map<std::pair<size_t, size_t>, uint16_t> netns_relays;
  std::map<std::pair<size_t, size_t>, double> loss;
  /// (from id, to id) -> the shape the scenario's written link profile gave that relayed link
  /// (link_profiles.hpp); set_link steps change links from there.
  std::map<std::pair<std::string, std::string>, agent::link_shape> link_shapes;
  /// Backend param "poll" is "agent": the agent polls the nodes and the proxies take their
  /// status and blocks from its summaries (posted to `summaries`).
  bool agent_polls = false;
  std::shared_ptr<summary_board> summaries = std::make_shared<summary_board>();
  std::chrono::milliseconds rpc_timeout{5000};
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds ready_timeout{60000}; ///< 0: each program's own
  uint64_t seed = 1;
  caf::actor_clock::time_point origin{};
  tx_index txs;
  local::counters counters;

  /// The agent of node `i`'s host (held: a replaced host's old agent outlives the call).
  std::shared_ptr<agent::connection> agent_of(size_t i) const { return sup->agent(nodes[i].host); }
  /// A fresh adapter for node `i` (each actor owns its own).
  adapters::adapter_ptr make_adapter(size_t i) const;
  /// Host `h`'s address, as its agent's probes dial it.
  std::string host_address(size_t h) const;
  /// True when the node's process is running and not paused.
  bool running(size_t i) const;
  /// Probes node `i` once (the program's readiness probe).
  bool probe(size_t i, adapters::adapter* a, std::string* last_error = nullptr) const;
  /// Waits until node `i` is ready: "" on success, else one sentence with the cause and the
  /// node's last log lines. `give_up` (optional) ends the wait early.
  std::string wait_ready(size_t i, const std::function<bool()>& give_up = {}) const;
  /// The time budget of node `i`'s readiness probe.
  std::chrono::milliseconds ready_budget(size_t i) const;
  /// Node `i`'s topology peers as adapter endpoints.
  std::vector<adapters::peer_endpoint> topology_peers(size_t i) const;
  /// What this deployment can do (the same answers `troupe validate --backend local` gives).
  capabilities caps() const;
  /// The acknowledgement for a request the capabilities refuse, or nothing.
  std::optional<control_ack> refused(const fault_request& r) const;
  /// Whether node `i`'s peer traffic goes through the fabric's relays.
  bool relayed(size_t i) const;
  /// The nodes node `i` dials: its topology peers, or every other member of its program when
  /// the program joins every member.
  std::vector<size_t> dialled(size_t i) const;
  /// `kind` for both directions of every link between node `i` and its topology peers.
  std::vector<agent::link_change> links_of(size_t i, agent::link_change::kind_t kind) const;
  /// Asks node `i`, through `a`, to dial its topology peers now rather than at its own next
  /// retry (best effort: a node that is down, or a program without peer controls, reconnects
  /// on its own).
  void reconnect(size_t i, adapters::adapter& a) const;
  /// The last log lines of node `i`, indented for an error message.
  std::string last_lines(size_t i, size_t n = 8) const;
};

using world_ptr = std::shared_ptr<world>;

} // namespace troupe::backends::local
