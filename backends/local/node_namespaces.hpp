#pragma once
// Network namespaces for programs that give every member the same peer list (join scope
// "all", e.g. etcd) and name the port their peers dial: each such node runs in its own
// namespace (agent::node_netns), made on its host by the host's agent (agent::host_netns,
// reached through agent::remote_netns: the local backend's one agent, or each ssh host's),
// with its configuration unchanged. Its outgoing peer connections (to the peer's host address
// and port) are redirected into the link relays of the deployment's fabric (one per directed
// pair of members, on the dialer's host); a relay reaches a peer on the same host at its
// namespace's own address, and a peer on another host at that host's address, where the
// peer's agent forwards the port into the peer's namespace. troupe's own calls (adapter,
// probes, metrics) reach the node's other ports through the same forwards, on its host's
// address at the same port numbers. So partitions, one-way cuts, clogs and set_link work for
// them as for relayed litecoind, on one machine or across a fleet.

#include <filesystem>
#include <memory>

#include "backends/agent/fabric.hpp"
#include "backends/agent/multi_fabric.hpp"
#include "backends/local/capabilities.hpp"
#include "backends/local/program.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::local {

struct world;

/// Whether a node of `p` runs in its own network namespace, on hosts with `limits` (their
/// refusal, or, judged here, this machine's: root, `ip` and `nft`).
bool namespaced(const program& p, const host_limits& limits);

/// Makes the namespaces (on each node's host, by its agent), relays (into `f`) and port
/// forwards of every namespaced node of `w`, before any node starts; fills each such node's
/// peer_endpoints (unchanged endpoints). Throws troupe::user_error with the cause (and the
/// host); what it made is removed by remove_namespaces.
void build_namespaces(world& w, agent::multi_fabric& f, const std::filesystem::path& run_dir);

/// Runs node `i`'s process inside its namespace (when it has one).
void enter_namespace(const world& w, size_t i, process_options& po);

/// Gives every link from a node of `from` to a node of `to` (all namespaced) packet loss `p`
/// (0: none), by drop rules in the namespaces at both ends: the sender's packets towards the
/// relay, and the relay's packets carrying the sender's bytes into the receiver's namespace.
/// Each namespace's rules go to its host's agent. Throws std::runtime_error when one fails.
void set_loss(world& w, const std::vector<size_t>& from, const std::vector<size_t>& to, double p);

/// Packets the loss rules of every namespace of `w` dropped so far (hosts whose agent does
/// not answer count none).
uint64_t dropped_packets(const world& w);

/// Stops the port forwards and removes every namespace of `w` (after its nodes stopped).
void remove_namespaces(world& w) noexcept;

} // namespace troupe::backends::local
