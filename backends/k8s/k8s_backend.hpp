#pragma once
// The `k8s` backend: a run on a Kubernetes cluster ("backend": {"name": "k8s"}), reached with
// kubectl (its kubeconfig from $TROUPE_KUBECONFIG, else kubectl's own). One namespace per run
// (troupe-<run id>, labelled troupe.run, with an expiry for `troupe k8s gc`), per group a
// StatefulSet and a headless Service, a ConfigMap with the program and the group's node spec,
// the agents' token in a Secret (manifests.hpp). Each pod's container runs the agent, which
// runs the node; the run itself is the local backend's over those pods (k8s_hosts.hpp), so a
// scenario runs unchanged on local, ssh and k8s: only its backend line differs.
//
// Params: k8s_options.hpp (and the local backend's). Refused, with the reason
// (k8s_hosts::k8s_limits): faults that need packet rules (no NET_ADMIN in the pods) and clock
// skew (no libfaketime known in the image).

#include "backends/local/local_backend.hpp"

namespace troupe::backends::k8s {

/// The local backend over one pod per node.
class k8s_backend : public local::local_backend {
public:
  k8s_backend();
};

} // namespace troupe::backends::k8s
