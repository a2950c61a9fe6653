#pragma once
// One run's Compose stack on the Docker daemon: brought up from its file with the Compose tool
// (docker.hpp), read back (the network's subnet and each container's address), and removed —
// `down -v`, then a sweep of whatever still carries its label troupe.run=<run id>. The sweep
// is also what its janitor runs when troupe dies without tearing down (kill -9), and what
// `troupe compose gc` runs for every run's label. A swarm-mode run's stack (swarm_stack.hpp)
// is one of these with other commands; the sweep and the janitor serve both (services and
// secrets first, then what Swarm removes on its own time, waited for with a bound).

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/agent/janitor.hpp"

namespace troupe::backends::compose {

/// The run network as Docker made it.
struct network_info {
  std::string subnet;                           ///< e.g. 10.170.3.0/24
  std::string gateway;                          ///< where published ports arrive from
  std::map<std::string, std::string> addresses; ///< container name -> IPv4 address
};

/// What a sweep removed.
struct swept {
  size_t services = 0, containers = 0, networks = 0, volumes = 0, secrets = 0;
  size_t total() const { return services + containers + networks + volumes + secrets; }
};

/// How long a sweep waits for what Swarm removes asynchronously (a removed service's task
/// containers, then the overlay network they held) before it leaves the rest.
constexpr std::chrono::seconds sweep_wait{120};

/// Removes every service, container (forced), network, volume and secret labelled
/// troupe.run=`run_id` (every run's when `run_id` is empty), retrying what is still in use
/// until nothing is left or sweep_wait passed. Never throws: what it could not remove is left.
swept sweep(const std::string& run_id) noexcept;

/// How many services, containers, networks, volumes and secrets carry troupe.run=`run_id`.
swept count_labelled(const std::string& run_id) noexcept;

class stack {
public:
  stack(std::string run_id, std::filesystem::path file);
  virtual ~stack() = default;

  /// Starts the janitor that sweeps this run's label if troupe dies (before up()).
  void guard();
  /// `up -d`; throws user_error with one sentence (a busy published port names it).
  virtual void up(std::chrono::milliseconds timeout);
  /// The run network's subnet and addresses (by container_name()); throws user_error.
  virtual network_info network() const;
  /// A node's container's state ("running", "exited", ...; "" when it is gone).
  virtual std::string state(const std::string& container) const;
  /// The last `lines` lines of a container's own output (its agent's log).
  virtual std::string output_tail(const std::string& container, size_t lines) const;
  /// `down -v`, then a sweep of the label; never throws.
  virtual void down() noexcept;
  /// The command that removes a kept stack, exactly.
  virtual std::string remove_command() const;
  /// What report.json's compose section adds for this kind of stack.
  virtual void add_results(nlohmann::json&) const {}

  const std::string& run_id() const { return run_id_; }
  const std::filesystem::path& file() const { return file_; }

protected:
  /// Ends the janitor (after a teardown it has nothing to do).
  void release_guard() noexcept { janitor_.reset(); }

private:
  std::vector<std::string> compose(std::vector<std::string> args) const;

  std::string run_id_;
  std::filesystem::path file_;
  std::unique_ptr<agent::janitor> janitor_;
};

} // namespace troupe::backends::compose
