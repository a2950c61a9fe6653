#pragma once
// A network namespace per node, for programs whose peers cannot be handed relay addresses
// (etcd: every member must see the same peer list). The node runs inside its namespace with
// its configuration unchanged (it still listens on its host's address, 127.0.0.1 on the local
// backend, and dials its peers' hosts' addresses); a veth pair joins
// the namespace to the root one, each end with its own address in a /30 of a private block
// (10.X.0.0/16, X chosen per run among those unused here), and an nftables table inside the
// namespace (never in the root namespace) does the rest:
//
//   output      the node's connections to <a peer's host address>:<its port> go to the link
//               relay the fabric owns for that directed link, on the root end of the veth
//   prerouting  connections from the root namespace to the node's own ports (the relays
//               reaching it, the port forwards) go to its host address, where it listens
//   postrouting what leaves by the veth from 127.0.0.0/8 leaves from the namespace's address
//   drops       random packet drops (`numgen random`), per rule, for packet-level loss
//
// Loopback destinations off the loopback device need net.ipv4.conf.all.route_localnet=1,
// which is set inside the namespace only. A host address outside 127.0.0.0/8 (a real fleet's
// host) is added to the namespace's loopback device, so the node can bind it, and the
// namespace routes other destinations through the veth (its peers' hosts). Everything needs root
// (CAP_NET_ADMIN) and the `ip` (iproute2) and `nft` (nftables) commands; netns_refusal says why
// not, before any run. Namespaces are named `troupe-<run tag>-<index>`: a test tells its own by the
// tag, and teardown removes only those (the veth goes with its namespace).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace troupe::backends::agent {

/// Why this process cannot make network namespaces (not root, `ip` or `nft` missing), in one
/// sentence, or nothing.
std::optional<std::string> netns_refusal();

/// A short tag for one run (hex of a hash of `run_dir`), for namespace and veth names.
std::string run_tag(const std::filesystem::path& run_dir);

/// The private /16 (10.X.0.0, host byte order) for a run's namespaces: from the tag, the
/// first X in 200..249 that no address of this host's root namespace uses.
uint32_t choose_block(const std::string& tag);

/// The path of the `ip` command (iproute2), or "" when this host has none.
std::string ip_tool();

/// The name of node `index`'s namespace in the run tagged `tag`: `troupe-<tag>-<index>`.
std::string netns_name(const std::string& tag, size_t index);

/// Dotted quad of a host-byte-order IPv4 address.
std::string ipv4_text(uint32_t addr);

class node_netns {
public:
  /// An outgoing connection to `addr`:`port` goes to `to_addr`:`to_port` instead.
  struct redirect {
    uint16_t port = 0;
    uint32_t to_addr = 0;
    uint16_t to_port = 0;
    uint32_t addr = 0x7f000001; ///< the peer's host address (127.0.0.1 on the local backend)
  };

  // -- constructors -----------------------------------------------------------

  /// Creates namespace `troupe-<tag>-<index>` with its veth pair (root end
  /// block + 4*index + 1, namespace end + 2, a /30). Throws std::runtime_error naming the
  /// command and its output when one fails (what was made so far is removed).
  node_netns(const std::string& tag, uint32_t block, size_t index);
  /// Removes the namespace and its veth (never throws).
  ~node_netns();
  node_netns(const node_netns&) = delete;
  node_netns& operator=(const node_netns&) = delete;

  // -- setup ------------------------------------------------------------------

  /// Writes the namespace's nftables table (through `rules_file`): `out` redirects, and the
  /// node's own `ports` reachable from the root namespace at `host_addr` (where the node
  /// listens: its host's address). Throws like the constructor.
  void install_rules(const std::vector<redirect>& out, const std::vector<uint16_t>& ports,
                     const std::filesystem::path& rules_file, uint32_t host_addr = 0x7f000001);

  /// Random packet drops inside the namespace: packets leaving by its veth to `addr`:`port`
  /// (outgoing), or arriving from `addr`:`port` (incoming), dropped with probability `p`.
  struct drop_rule {
    bool outgoing = true;
    uint32_t addr = 0;
    uint16_t port = 0;
    double p = 0;
  };

  /// Replaces every drop rule at once (through `rules_file`, one nft transaction). Throws like
  /// the constructor.
  void set_drops(const std::vector<drop_rule>& rules, const std::filesystem::path& rules_file);
  /// Packets the drop rules dropped so far (their nft counters; rules replaced count no more).
  uint64_t dropped_packets() const;

  // -- properties -------------------------------------------------------------

  const std::string& name() const { return name_; }
  uint32_t root_addr() const { return root_addr_; }   ///< the root end of the veth
  uint32_t inner_addr() const { return inner_addr_; } ///< the namespace's end
  /// The command prefix that runs a program inside: `ip netns exec <name>` (it execs, so the
  /// program keeps the PID, process group and parent-death signal it was spawned with).
  std::vector<std::string> exec_prefix() const;

private:
  void remove() noexcept;

  std::atomic<uint64_t> dropped_before_{0}; ///< by rules replaced since

  std::string name_, veth_root_, veth_inner_;
  uint32_t root_addr_ = 0, inner_addr_ = 0;
  bool made_ = false;
};

} // namespace troupe::backends::agent
