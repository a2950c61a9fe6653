#pragma once
// The network namespaces of the nodes on one host (netns.hpp), made by the process beside
// them: the host's agent (the local backend's in troupe's process or a child; each ssh host's
// over ssh), asked by the orchestrator through the netns_* ops (docs/agent-protocol.md) and,
// from the orchestrator's side, remote_netns. Besides each node's namespace it holds:
//
//   forwards  connections to the host's address at a node's port reach the node inside its
//             namespace (troupe's adapter, probes and scraper; on a fleet, the relays of the
//             node's peers on other hosts, which dial the node where its peers know it)
//   janitor   started before the first namespace: when the process ends however it ends
//             (kill -9 of the agent), the namespaces go with it (netns_janitor.hpp)
//
// A run's namespaces are named by a tag and each node's index in the whole deployment, so the
// agents of several "hosts" on one kernel (the tests' sshd on 127.0.0.2, 127.0.0.3, ...) make
// names, veths and /30 subnets that never collide, even in one shared /16 block; and make()
// holds a host-wide lock file (/run/troupe-netns.lock) from the choice of the block to the last
// veth, so two agents of one kernel never choose between the other's look and its addresses.
// Thread-safe: each call holds the host's lock.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/agent/fabric.hpp"
#include "backends/agent/netns.hpp"
#include "backends/agent/netns_janitor.hpp"

namespace troupe::backends::agent {

class host_netns {
public:
  /// What make() made for one node.
  struct made {
    size_t index = 0;
    std::string name;
    uint32_t root_addr = 0;  ///< the root end of its veth (its relays listen there)
    uint32_t inner_addr = 0; ///< its own end (the relays and forwards reaching it dial there)
    std::vector<std::string> exec_prefix; ///< runs a program inside (`ip netns exec NAME`)
  };
  /// A forward: `listen_addr`:`port` on this host reaches the node at the same port.
  struct forward {
    std::string id; ///< the node's, for the relay's name
    uint32_t listen_addr = fabric::loopback;
    uint16_t port = 0;
  };

  // -- constructors -----------------------------------------------------------

  host_netns() = default;
  /// remove()
  ~host_netns();
  host_netns(const host_netns&) = delete;
  host_netns& operator=(const host_netns&) = delete;

  // -- setup ------------------------------------------------------------------

  /// Makes the namespaces of nodes `indices` of run `tag` (their janitor first; the block is
  /// chosen once per tag, from this host's addresses). Throws std::runtime_error with the
  /// cause (netns_refusal's, or the command that failed); what it made stays for remove().
  std::vector<made> make(const std::string& tag, const std::vector<size_t>& indices);
  /// Installs node `index`'s rules (node_netns::install_rules) and starts its `forwards`.
  /// Throws std::runtime_error with the cause.
  void install(size_t index, const std::vector<node_netns::redirect>& out,
               const std::vector<uint16_t>& ports, uint32_t host_addr,
               const std::vector<forward>& forwards, const std::filesystem::path& rules_file);
  /// Replaces node `index`'s drop rules (node_netns::set_drops).
  void set_drops(size_t index, const std::vector<node_netns::drop_rule>& rules,
                 const std::filesystem::path& rules_file);

  // -- observation ------------------------------------------------------------

  /// Packets the drop rules of every namespace here dropped so far.
  uint64_t dropped_packets() const;
  size_t size() const;

  // -- teardown ---------------------------------------------------------------

  /// Stops the forwards and removes every namespace (after the nodes in them stopped); never
  /// throws; idempotent.
  void remove() noexcept;

private:
  node_netns& at(size_t index) const; ///< mutex_ held; throws naming an unknown index

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<netns_janitor>> janitors_; ///< first: they outlive the rest
  std::map<std::string, uint32_t> blocks_;               ///< by run tag
  std::map<size_t, std::unique_ptr<node_netns>> netns_;
  std::unique_ptr<fabric> forwards_;
};

} // namespace troupe::backends::agent
