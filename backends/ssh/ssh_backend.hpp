#pragma once
// The `ssh` backend: nodes on machines reached over OpenSSH, from an inventory file
// ("backend": {"name": "ssh", "hosts": "hosts.json"}; inventory.hpp). Placement spreads the
// nodes over the hosts (placement.hpp); each host gets one multiplexed ssh master, a copy of
// troupe checked by sha256, and an agent (`troupe agent --stdio` over the master: the same
// agent and connection the local backend runs, backends/agent/) (fleet.hpp).
//
// Backend params (besides the local backend's, which a scenario keeps when only the backend
// line changes):
//   hosts (required)      the inventory file (relative: the working directory)
//   hosts_min             run on at least this many usable hosts, without the ones that
//                         failed (default: every host must be usable)
//   parallel (32)         hosts connected and bootstrapped at once
//   connect_timeout (10s) attempts (3)   host_keys ("strict" | "accept-new"; default: the
//                         inventory's)   remote_dir ("/tmp/troupe")   log_tail_bytes (65536)
//   placement             {"GROUP": "LABEL"}: the group's nodes go only to hosts with that label
//
// Not implemented yet (deploy says so, exit 2, after it has checked every host and started
// and stopped their agents): starting the scenario's nodes through those agents.

#include <map>
#include <string>

#include "actors/backend.hpp"
#include "actors/params.hpp"
#include "backends/ssh/inventory.hpp"
#include "backends/ssh/placement.hpp"

namespace troupe::backends::ssh {

struct ssh_options {
  std::string hosts;
  size_t hosts_min = 0;
  size_t parallel = 32;
  std::string host_keys; ///< "" = the inventory's
  std::chrono::milliseconds connect_timeout{10000};
  int attempts = 3;
  std::map<std::string, std::string> placement;
  std::string remote_dir = "/tmp/troupe";
  uint64_t log_tail_bytes = 65536;
  std::string agent_binary; ///< the troupe copied to the hosts ("" = this one)
};

/// Reads (and checks) the backend params, the local backend's included; the caller calls
/// r.finish().
ssh_options read_options(params_reader& r);

/// The scenario's ssh options, inventory and placement (for `troupe topology --backend ssh`
/// and deploy); throws user_error / validation_failed with what is wrong.
struct ssh_plan {
  ssh_options options;
  inventory hosts;
  placement where;
};
ssh_plan plan(const scenario& s, const expanded_topology& t);

/// "placement on N hosts (ssh, hosts.json):" and one line per host.
std::string describe_plan(const ssh_plan& p, const expanded_topology& t);

class ssh_backend : public backend {
public:
  std::string name() const override { return "ssh"; }
  deployment deploy(caf::actor_system& sys, const scenario& s, const expanded_topology& topo,
                    const run_env& env) override;
  void drive(caf::actor_system& sys, const std::function<bool()>& done) override;
  void teardown() noexcept override {}
  std::optional<std::string> refusal(const fault_request& r, const scenario& s,
                                     const expanded_topology& topo) const override;
};

} // namespace troupe::backends::ssh
