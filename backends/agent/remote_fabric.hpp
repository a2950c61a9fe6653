#pragma once
// The link relays of one agent, seen from the orchestrator: the same calls as agent::fabric
// (so the local backend's fabric and proxy actors use either), each one a request over the
// agent connection. An acknowledged apply() means the agent applied the change: the fault is
// in effect. The last stats are kept at stop(), so report.json has them after teardown.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/connection.hpp"
#include "backends/agent/fabric.hpp"

namespace troupe::backends::agent {

class remote_fabric {
public:
  // -- constructors -----------------------------------------------------------

  remote_fabric(std::shared_ptr<connection> c, uint64_t seed)
    : conn_(std::move(c))
    , seed_(seed) {}

  // -- setup (as agent::fabric) -----------------------------------------------------

  /// Throws std::runtime_error naming the port and the cause when the agent cannot listen.
  uint16_t add_relay(const std::string& from, const std::string& to, uint16_t target_port,
                     uint16_t listen_port = 0, uint32_t listen_addr = fabric::loopback,
                     uint32_t target_addr = fabric::loopback);
  void start();
  /// From now on, the agent `c` instead (the host was replaced: its relays are gone with the
  /// old agent, so the caller adds them again); the relay count starts again from 0.
  void reattach(std::shared_ptr<connection> c);
  /// The agent's relays to node `to` dial `target_addr` from now on (agent::fabric::retarget);
  /// how many it changed.
  size_t retarget(const std::string& to, uint32_t target_addr);
  /// Keeps the last stats, then closes every relay; never throws.
  void stop() noexcept;

  // -- faults (each returns once the agent applied it; throws agent_error otherwise) -------

  void apply(const std::vector<link_change>& changes);
  void heal_all();

  // -- observation --------------------------------------------------------------

  std::vector<link_stats> stats() const;
  /// The same report.json section as agent::fabric::stats_json().
  nlohmann::json stats_json() const;
  size_t relay_count() const;
  size_t open_connections() const;

private:
  std::shared_ptr<connection> conn() const;

  std::shared_ptr<connection> conn_; ///< guarded by mutex_ (reattach)
  uint64_t seed_;
  mutable std::mutex mutex_;
  size_t relays_ = 0;
  bool stopped_ = false;
  std::vector<link_stats> last_; ///< at stop()
};

} // namespace troupe::backends::agent
