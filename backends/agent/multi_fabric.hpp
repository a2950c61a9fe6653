#pragma once
// The link relays of a deployment's agents, one agent per host, with the calls of
// remote_fabric. A relay for `a -> b` lives on the host of `a` (the node that dials), so a
// change to link (a, b) or (b, a) goes to every host that has a relay between the two (with
// a mesh, both ends' hosts); the agents apply changes in parallel across hosts, and each
// acknowledged apply() means every one of them applied its part. Stats of one directed link
// that several hosts relay are summed.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/remote_fabric.hpp"

namespace troupe::backends::agent {

class multi_fabric {
public:
  // -- constructors -----------------------------------------------------------

  explicit multi_fabric(uint64_t seed)
    : seed_(seed) {}

  /// Adds a host whose agent is `c`, before any relay; returns its index (0, 1, ...).
  size_t add_host(std::shared_ptr<connection> c);
  size_t hosts() const { return hosts_.size(); }

  // -- setup --------------------------------------------------------------------------

  /// A relay on host `host` (see remote_fabric::add_relay).
  uint16_t add_relay(size_t host, const std::string& from, const std::string& to,
                     uint16_t target_port, uint16_t listen_port = 0,
                     uint32_t listen_addr = fabric::loopback,
                     uint32_t target_addr = fabric::loopback);
  /// Starts the relays of every host that has some.
  void start();
  /// Host `host`'s agent is `c` from now on, its relays listening on `listen_addr` (a
  /// Kubernetes pod replaced after it was deleted: the old agent and its relays are gone).
  /// Adds the host's relays again at their ports and starts them, replays every link change
  /// applied so far on them (in order, so the cuts, clogs and shapes in effect stay in
  /// effect), and points the other hosts' relays to the host's nodes (`nodes`) at
  /// `listen_addr`. Throws what the agents said.
  struct reattached {
    size_t relays_made_again = 0;   ///< the host's own
    size_t relays_pointed_here = 0; ///< the other hosts' relays to its nodes
  };
  reattached reattach_host(size_t host, std::shared_ptr<connection> c, uint32_t listen_addr,
                           const std::vector<std::string>& nodes);
  /// Keeps each host's last stats, then closes its relays; never throws.
  void stop() noexcept;

  // -- faults (each returns once every agent concerned applied it; throws otherwise) ------

  void apply(const std::vector<link_change>& changes);
  void heal_all();

  // -- observation --------------------------------------------------------------

  std::vector<link_stats> stats() const;
  nlohmann::json stats_json() const;
  size_t relay_count() const;
  size_t open_connections() const;

private:
  using pair_key = std::pair<std::string, std::string>; ///< (min id, max id)
  static pair_key key_of(const std::string& a, const std::string& b);
  /// fn(host) for each of `hosts`, in parallel; rethrows the first error.
  static void on_hosts(const std::vector<size_t>& hosts, const std::function<void(size_t)>& fn);
  /// The same for every host with relays.
  void on_relaying_hosts(const std::function<void(size_t)>& fn) const;

  /// A relay as it was added (its port the one the agent chose), to add it again.
  struct relay_spec {
    size_t host;
    std::string from, to;
    uint16_t target_port, listen_port;
    uint32_t listen_addr, target_addr;
  };
  /// What apply() and heal_all() did, in order (an empty list: heal_all), for reattach_host.
  using applied = std::vector<link_change>;

  uint64_t seed_;
  std::vector<std::unique_ptr<remote_fabric>> hosts_;
  std::mutex changing_; ///< one change, or one reattach_host, at a time
  std::vector<applied> history_;
  std::vector<relay_spec> specs_;
  mutable std::mutex mutex_;
  std::map<pair_key, std::set<size_t>> relayed_by_; ///< which hosts relay between two nodes
  std::set<size_t> relaying_;                       ///< hosts with a relay
};

} // namespace troupe::backends::agent
