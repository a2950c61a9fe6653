#pragma once
// The ssh backend's hosts, for the local backend's deployment (backends/local/hosts.hpp): the
// usable hosts of its fleet (fleet.hpp: one ssh master each, troupe copied once, an agent
// over ssh), the nodes placed on them (placement.hpp), each node's files under its host's
// run directory, RUN/nodes/<id>/ (logs stay there; nodes/<id>.log here gets a tail of
// log_tail_bytes at the end), its ports and relays on its host's address.

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "backends/local/hosts.hpp"
#include "backends/ssh/fleet.hpp"
#include "backends/ssh/provisioner.hpp"
#include "backends/ssh/ssh_backend.hpp"

namespace troupe::backends::ssh {

class ssh_hosts : public local::hosts {
public:
  std::string backend() const override { return "ssh"; }
  local::local_options options(const scenario& s) const override;
  std::vector<started> start(const scenario& s, const expanded_topology& topo, const run_env& env,
                             const local::local_options& o, const handler_for& on_event) override;
  std::vector<size_t> placement() const override { return placement_; }
  local::host_limits limits() const override { return limits_; }
  uint64_t log_tail_bytes() const override { return log_tail_bytes_; }
  void close() noexcept override;
  void add_results(nlohmann::json& out) const override;
  std::string reach_here(size_t host, uint16_t port) override;
  std::optional<std::string> ended() const override;

  /// Each host's name and why its agent cannot make network namespaces for its nodes
  /// (nothing: it can), for ssh_limits.
  using netns_answers = std::vector<std::pair<std::string, std::optional<std::string>>>;
  /// What the ssh backend cannot do to its hosts' nodes, and why: the hosts that run nodes
  /// judge network namespaces themselves (`answers`: each one's; none before they answered),
  /// and one that cannot refuses them for every node, naming the host.
  static local::host_limits ssh_limits(const netns_answers& answers = {});

private:
  /// The inventory: the file's, or the provisioner's new hosts (recorded for destroy).
  inventory hosts_of(const ssh_plan& p, const expanded_topology& topo, const run_env& env);
  /// Asks the agent of every host that runs nodes whether it can make namespaces.
  netns_answers ask_netns(const std::vector<started>& hosts) const;

  std::unique_ptr<provisioned_hosts> provisioned_; ///< outlives fleet_: destroyed after it
  std::unique_ptr<fleet> fleet_;
  std::vector<size_t> placement_;
  std::vector<size_t> fleet_index_; ///< of each usable host (the deployment's host index)
  std::mutex forwards_mutex_;
  std::map<std::pair<size_t, uint16_t>, std::string> forwards_; ///< made once per host and port
  uint64_t log_tail_bytes_ = 0;
  local::host_limits limits_ = ssh_limits();
  nlohmann::json hosts_info_;
};

} // namespace troupe::backends::ssh
