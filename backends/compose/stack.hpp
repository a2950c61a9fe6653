#pragma once
// One run's Compose stack on the Docker daemon: brought up from its file with the Compose tool
// (docker.hpp), read back (the network's subnet and each container's address), and removed —
// `down -v`, then a sweep of whatever still carries its label troupe.run=<run id>. The sweep
// is also what its janitor runs when troupe dies without tearing down (kill -9), and what
// `troupe compose gc` runs for every run's label.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

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
  size_t containers = 0, networks = 0, volumes = 0;
};

/// Removes every container (forced), network and volume labelled troupe.run=`run_id` (every
/// run's when `run_id` is empty). Never throws: what it could not remove is left.
swept sweep(const std::string& run_id) noexcept;

/// How many containers, networks and volumes carry troupe.run=`run_id` (for reports, tests).
swept count_labelled(const std::string& run_id) noexcept;

class stack {
public:
  stack(std::string run_id, std::filesystem::path file);

  /// Starts the janitor that sweeps this run's label if troupe dies (before up()).
  void guard();
  /// `up -d`; throws user_error with one sentence (a busy published port names it).
  void up(std::chrono::milliseconds timeout);
  /// The run network's subnet and addresses; throws user_error.
  network_info network() const;
  /// A container's state ("running", "exited", ...; "" when it is gone).
  std::string state(const std::string& container) const;
  /// The last `lines` lines of a container's own output (its agent's log).
  std::string output_tail(const std::string& container, size_t lines) const;
  /// `down -v`, then a sweep of the label; never throws.
  void down() noexcept;
  /// The command that removes a kept stack, exactly.
  std::string remove_command() const;

  const std::string& run_id() const { return run_id_; }
  const std::filesystem::path& file() const { return file_; }

private:
  std::vector<std::string> compose(std::vector<std::string> args) const;

  std::string run_id_;
  std::filesystem::path file_;
  std::unique_ptr<agent::janitor> janitor_;
};

} // namespace troupe::backends::compose
