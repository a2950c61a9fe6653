#pragma once
// `troupe swarm FILE --emit k8s-job`: the same swarm spread over a Kubernetes Indexed Job.
// One pod per shard (completions = parallelism = M); each runs `troupe swarm ... --shard
// $(TROUPE_SHARD)/M` with TROUPE_SHARD taken from the pod's completion index, the scenario
// from a ConfigMap and its shard directory on a PersistentVolumeClaim, where `troupe swarm
// merge` joins them. Printed as one `v1` List (JSON, which kubectl takes as it is).

#include <string>

#include <nlohmann/json.hpp>

#include "backends/sim/swarm_summary.hpp"

namespace troupe::backends {

struct k8s_job_options {
  std::string image = "troupe:latest";                ///< an image with `troupe` on its PATH
  std::string results_claim = "troupe-swarm-results"; ///< PVC mounted at /results
  unsigned jobs = 1;                                  ///< `-j` inside each pod
};

/// The ConfigMap (the scenario file's text) and the Indexed Job for `p` (shard_count shards).
nlohmann::json swarm_k8s_job(const swarm_plan& p, const std::string& scenario_text,
                             const k8s_job_options& o);

} // namespace troupe::backends
