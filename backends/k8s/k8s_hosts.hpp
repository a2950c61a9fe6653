#pragma once
// The k8s backend's hosts, for the local backend's deployment (backends/local/hosts.hpp): one
// pod per node, each running the agent (`troupe agent --listen`) as its container's
// entrypoint. start() renders the run's objects (manifests.hpp) into RUN/k8s/, applies them
// with `kubectl apply --server-side`, waits for every StatefulSet's pods to be Ready (`kubectl
// wait`, a watch on the API server, not a poll loop here), reads the pods' addresses and
// connects to every agent over TCP with the run's token. From then on nodes, relays,
// readiness probes, controls, faults and log tails go through the agents exactly as over ssh.
// close() ends the agents and deletes the run's namespace (every exit path: the local
// backend's teardown calls it; kill -9 of troupe leaves the namespace to expire and
// `troupe k8s gc`).
//
// troupe reaches the pods at their own addresses: it runs in the cluster (a pod) or on a
// machine routed to the pod network.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backends/agent/reverse_reach.hpp"
#include "backends/k8s/image.hpp"
#include "backends/k8s/k8s_options.hpp"
#include "backends/k8s/kubectl.hpp"
#include "backends/k8s/manifests.hpp"
#include "backends/local/hosts.hpp"

namespace troupe::backends::k8s {

class k8s_hosts : public local::hosts {
public:
  std::string backend() const override { return "k8s"; }
  local::local_options options(const scenario& s) const override { return options_of(s).local; }
  std::vector<started> start(const scenario& s, const expanded_topology& topo, const run_env& env,
                             const local::local_options& o, const handler_for& on_event) override;
  std::vector<size_t> placement() const override { return placement_; }
  local::host_limits limits() const override { return k8s_limits(); }
  uint64_t log_tail_bytes() const override { return log_tail_bytes_; }
  void close() noexcept override;
  void add_results(nlohmann::json& out) const override;
  std::string reach_here(size_t host, uint16_t port) override;
  /// With "kill": "delete_pod": `kubectl delete pod --force --grace-period=0` of the host's pod.
  std::optional<std::string> crash(size_t host) override;
  std::optional<std::string> lost(size_t host) const override;
  /// The pod that replaced a deleted one (same name, new uid, Ready): its agent connected at
  /// its new address.
  std::optional<started> revive(size_t host) override;
  /// The program's executable inside its image (image.hpp).
  std::string binary(const local::program& p) const override { return executable_in_image(p); }

  /// What the k8s backend cannot do to its pods' nodes, and why.
  static local::host_limits k8s_limits();

private:
  /// `kubectl apply --server-side` of the objects written to `dir`.
  void apply(const std::filesystem::path& dir);
  /// Waits for each StatefulSet's readyReplicas; throws user_error naming a pod that is not
  /// Ready and why (its container's waiting reason).
  void wait_ready(const k8s_options& o);
  struct pod_seen {
    std::string name, address, uid;
  };
  /// Each pod's name, address and uid, in topology order.
  std::vector<pod_seen> pod_addresses(const expanded_topology& topo);
  /// Why the first pod that is not Ready is not (for messages).
  std::string first_unready_pod();
  /// The pod named `pod` once it is not the one with uid `old_uid` and is Ready, with an
  /// address (`kubectl wait` watches it get Ready; until the StatefulSet made it, a get each
  /// second); throws user_error after wait_timeout.
  nlohmann::json replacement_pod(const std::string& pod, const std::string& old_uid);
  /// Connects to the agent of pod `pod` at `address` (host `host`'s events to on_event_).
  std::shared_ptr<agent::connection> connect(size_t host, const std::string& pod,
                                             const std::string& address);
  /// How the reverse tunnels reach the agent of pod `pod` at `address`.
  agent::tunnel_pool_options tunnel_ends(const std::string& pod, const std::string& address) const;
  /// Host `host` as the local backend sees it: pod `pod` at `address`.
  started host_of(size_t host, const std::string& pod, const std::string& address) const;

  std::unique_ptr<kubectl> kubectl_;
  run_manifests manifests_;
  std::string run_id_;
  bool applied_ = false;
  std::vector<std::shared_ptr<agent::connection>> agents_;
  agent::reverse_reach reach_; ///< the sync service, for the pods' commands
  k8s_options options_;
  std::string token_;
  handler_for on_event_;
  bool kill_deletes_pod_ = false;
  std::vector<std::pair<std::string, std::string>> pods_; ///< per host: pod name, node id
  std::vector<std::string> uids_;                         ///< per host: its pod's uid
  mutable std::mutex crash_mutex_;     ///< lost_, uids_, info_'s deleted_pods and adopted_pods
  std::map<size_t, std::string> lost_; ///< host -> why it is gone
  std::vector<size_t> placement_;
  uint64_t log_tail_bytes_ = 0;
  nlohmann::json info_;
};

} // namespace troupe::backends::k8s
