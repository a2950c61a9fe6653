#pragma once
// Network namespaces on the local backend, for programs that give every member the same peer
// list (join scope "all", e.g. etcd) and name the port their peers dial: each such node runs
// in its own namespace (agent::node_netns) with its configuration unchanged; its outgoing
// peer connections are redirected into the link relays of the deployment's fabric (one per
// directed pair of members), and troupe's own calls (adapter, probes, metrics) reach its other
// ports through port forwards on 127.0.0.1 at the same port numbers. So partitions, one-way
// cuts, clogs and set_link work for them as for relayed litecoind.

#include <filesystem>
#include <memory>

#include "backends/agent/fabric.hpp"
#include "backends/agent/multi_fabric.hpp"
#include "backends/local/program.hpp"
#include "backends/local/supervisor.hpp"

namespace troupe::backends::local {

struct world;

/// Whether a node of `p` runs in its own network namespace on this host (root, tools there).
bool namespaced(const program& p);

/// Makes the namespaces, relays (into `f`) and port forwards of every namespaced node of `w`,
/// before any node starts; fills each such node's peer_endpoints (unchanged endpoints).
/// Throws troupe::user_error with the cause; what it made is removed by remove_namespaces.
void build_namespaces(world& w, agent::multi_fabric& f, const std::filesystem::path& run_dir);

/// Runs node `i`'s process inside its namespace (when it has one).
void enter_namespace(const world& w, size_t i, process_options& po);

/// Gives every link from a node of `from` to a node of `to` (all namespaced) packet loss `p`
/// (0: none), by drop rules in the namespaces at both ends: the sender's packets towards the
/// relay, and the relay's packets carrying the sender's bytes into the receiver's namespace.
/// Throws std::runtime_error when nft fails.
void set_loss(world& w, const std::vector<size_t>& from, const std::vector<size_t>& to, double p);

/// Packets the loss rules of every namespace of `w` dropped so far.
uint64_t dropped_packets(const world& w);

/// Stops the port forwards and removes every namespace of `w` (after its nodes stopped).
void remove_namespaces(world& w) noexcept;

} // namespace troupe::backends::local
