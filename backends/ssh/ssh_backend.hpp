#pragma once
// The `ssh` backend: nodes on machines reached over OpenSSH, from an inventory file
// ("backend": {"name": "ssh", "hosts": "hosts.json"}; inventory.hpp). Placement spreads the
// nodes over the hosts (placement.hpp); each host gets one multiplexed ssh master, a copy of
// troupe checked by sha256, and an agent (`troupe agent --stdio` over the master: the same
// agent and connection the local backend runs, backends/agent/) (fleet.hpp). The run itself
// is the local backend's over those hosts (ssh_hosts.hpp): each node started by its host's
// agent, bound to its host's address; a link relay for `a -> b` on a's host; readiness probes,
// controls and `"poll": "agent"` through each node's own agent.
//
// Backend params (besides the local backend's, which a scenario keeps when only the backend
// line changes):
//   hosts                 the inventory file (relative: the working directory), or
//   provisioner           {"create": CMD, "destroy": CMD, "ttl": "2h", "count": N, "labels":
//                         [...], "timeout": "10m"}: hosts made for the run (provisioner.hpp)
//   hosts_min             run on at least this many usable hosts, without the ones that
//                         failed (default: every host must be usable)
//   parallel (32)         hosts connected and bootstrapped at once
//   connect_timeout (10s) attempts (3)   host_keys ("strict" | "accept-new"; default: the
//                         inventory's)   remote_dir ("/tmp/troupe")   log_tail_bytes (65536)
//   placement             {"GROUP": "LABEL"}: the group's nodes go only to hosts with that label
//
// Programs that need a network namespace per node for their network faults (etcd) get them
// from each host's agent, on its host (backends/local/node_namespaces.hpp); a host whose agent
// cannot make them (not root there, no `ip` or `nft`) has them refused, with the host named
// and the reason (ssh_hosts::ssh_limits). A node's binary must be on its host at the path it
// has here.

#include <map>
#include <optional>
#include <string>

#include "actors/backend.hpp"
#include "actors/params.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/local/local_options.hpp"
#include "backends/ssh/inventory.hpp"
#include "backends/ssh/placement.hpp"
#include "backends/ssh/provisioner.hpp"

namespace troupe::backends::ssh {

struct ssh_options {
  local::local_options local; ///< the local backend's params, which mean the same here
  std::string hosts;          ///< the inventory file, or
  std::optional<provisioner_options> provisioner; ///< hosts made for the run
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
  inventory hosts; ///< empty with a provisioner (its hosts exist only once the run starts)
  placement where;
};
ssh_plan plan(const scenario& s, const expanded_topology& t);

/// "placement on N hosts (ssh, hosts.json):" and one line per host.
std::string describe_plan(const ssh_plan& p, const expanded_topology& t);

/// The local backend over the hosts of an ssh fleet.
class ssh_backend : public local::local_backend {
public:
  ssh_backend();
};

} // namespace troupe::backends::ssh
