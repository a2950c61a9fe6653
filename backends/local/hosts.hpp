#pragma once
// Where a live deployment's nodes run: its hosts, one agent on each. The local backend's is
// this machine alone (local_hosts: its agent in-process or a child `troupe agent --stdio`);
// the ssh backend's are the hosts of its fleet, each agent over ssh (backends/ssh/ssh_hosts);
// the compose backend's are one container per node, each agent over TCP through its port
// published on 127.0.0.1 (backends/compose/compose_hosts).
// The local backend does everything else the same way over either: nodes, ports, relays,
// readiness, controls, faults, teardown. The local backend is the one-host case.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/backend.hpp"
#include "backends/agent/connection.hpp"
#include "backends/local/capabilities.hpp"
#include "backends/local/local_options.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

class hosts {
public:
  using handler_for = std::function<agent::connection::event_handler(size_t host)>;
  struct started {
    live_host where;
    std::shared_ptr<agent::connection> agent;
  };

  virtual ~hosts() = default;

  /// The backend's name ("local", "ssh"), for messages.
  virtual std::string backend() const = 0;
  /// The scenario's backend params, read and checked (the local backend's among them):
  /// throws validation_failed / user_error.
  virtual local_options options(const scenario& s) const = 0;
  /// Starts an agent on every host (`on_event(h)` is host h's event handler) and places the
  /// nodes; throws user_error with the cause (what it started, close() ends).
  virtual std::vector<started> start(const scenario& s, const expanded_topology& topo,
                                     const run_env& env, const local_options& o,
                                     const handler_for& on_event) = 0;
  /// Each node's host (topology order; an index into start()'s hosts), after start().
  virtual std::vector<size_t> placement() const = 0;
  /// What these hosts cannot give the nodes.
  virtual host_limits limits() const { return {}; }
  /// How much of each remote node's log reaches nodes/<id>.log at the end.
  virtual uint64_t log_tail_bytes() const { return 0; }
  /// Ends every agent (each stops what it still runs), then whatever reached them. Never
  /// throws; idempotent.
  virtual void close() noexcept = 0;
  /// The "HOST:PORT" that a command on host `host` dials to reach 127.0.0.1:`port` on this
  /// machine (the run's sync service): local, that address itself; ssh, a remote forward
  /// over the host's ssh connection; compose and k8s, a port of the host's agent that
  /// carries each connection back over a reverse tunnel (agent/reverse_reach.hpp). Throws
  /// user_error naming the host.
  virtual std::string reach_here(size_t host, uint16_t port) {
    (void) host;
    return "127.0.0.1:" + std::to_string(port);
  }
  /// A crash of host `host` that the hosts make themselves instead of a SIGKILL of its node
  /// through the agent (k8s with "kill": "delete_pod": the pod deleted, its agent and files
  /// with it): nothing when they make none; "" once made; else why it could not be made.
  virtual std::optional<std::string> crash(size_t host) {
    (void) host;
    return std::nullopt;
  }
  /// The host that replaced lost host `host`, with its agent connected, once it is ready
  /// (k8s: the pod its StatefulSet made again after a delete_pod kill, at a new address and
  /// with an empty emptyDir): nothing when these hosts replace none. Throws user_error with
  /// why it cannot be had.
  virtual std::optional<started> revive(size_t host) {
    (void) host;
    return std::nullopt;
  }
  /// Why host `host` can start nothing again (its pod was deleted), once it cannot.
  virtual std::optional<std::string> lost(size_t host) const {
    (void) host;
    return std::nullopt;
  }
  /// Why the hosts can no longer carry the run, once they cannot (ssh: the provisioned hosts'
  /// time-to-live ran out, and their agents stopped the nodes); none while they can.
  virtual std::optional<std::string> ended() const { return std::nullopt; }
  /// The ports the hosts chose for node `node` (compose: each published on 127.0.0.1 at the
  /// number the node listens on in its container, so they were chosen before the stack came
  /// up); the backend allocates the others.
  virtual std::map<std::string, uint16_t> ports_of(size_t node) const {
    (void) node;
    return {};
  }
  /// The executable the agent runs for program `p` (throws user_error with the fix): here
  /// its binary on this machine; compose, the program's command inside its image.
  virtual std::string binary(const program& p) const { return resolve_binary(p); }
  /// Adds what report.json says of the hosts to the backend's results.
  virtual void add_results(nlohmann::json& out) const { (void) out; }
};

} // namespace troupe::backends::local
