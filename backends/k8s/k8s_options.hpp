#pragma once
// The k8s backend's params ("backend": {"name": "k8s", ...}), besides the local backend's,
// which mean the same here (a scenario changes only its backend line):
//   image ("")         the image of every node (default: image_for(), image.hpp)
//   images ({})        {"GROUP or PROGRAM": "IMAGE"}: a group's entry wins over its program's
//   ttl (2h)           the namespace's expiry (annotation troupe.dev/expires-at; troupe k8s gc)
//   agent_port (7070)  where each pod's agent listens (troupe agent --listen 0.0.0.0:PORT)
//   cpu ("250m") memory ("256Mi")   each node's requests; cpu_max, memory_max its limits ("")
//   kubectl ("kubectl")  the client, run by name on PATH or by path
//   wait_timeout (10m) how long the pods have to become Ready (kubectl wait)
//   parallel (64)      agents connected at once
//   pod_dir ("/troupe/run")  where each pod's node files live (an emptyDir mounted there):
//                      nodes/<id>/ (data), nodes/<id>.log
//   log_tail_bytes (65536)  how much of each node's log reaches nodes/<id>.log here
//   kill ("signal")    what a `kill` does: "signal", SIGKILL through the pod's agent (the node
//                      can be started again); "delete_pod", `kubectl delete pod --force
//                      --grace-period=0`, a crash that takes the pod, its agent and its
//                      emptyDir; a later start adopts the pod the StatefulSet makes again

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "actors/params.hpp"
#include "actors/scenario/scenario.hpp"
#include "backends/local/local_options.hpp"

namespace troupe::backends::k8s {

struct k8s_options {
  local::local_options local; ///< the local backend's params, which mean the same here
  std::string image;
  std::map<std::string, std::string> images;
  std::chrono::seconds ttl{2 * 3600};
  uint16_t agent_port = 7070;
  std::string cpu = "250m", memory = "256Mi";
  std::string cpu_max, memory_max; ///< "" = no limit
  std::string kubectl = "kubectl";
  std::chrono::seconds wait_timeout{600};
  size_t parallel = 64;
  std::string pod_dir = "/troupe/run";
  uint64_t log_tail_bytes = 65536;
  bool kill_deletes_pod = false; ///< kill: "delete_pod"
};

/// Reads (and checks) the backend params, the local backend's included; the caller calls
/// r.finish().
k8s_options read_options(params_reader& r);

/// The scenario's k8s options (its own backend params when it names k8s, else the
/// defaults); throws validation_failed with every problem.
k8s_options options_of(const scenario& s);

} // namespace troupe::backends::k8s
