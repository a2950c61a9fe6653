#pragma once
// A structural check of a run's objects, without an API server (kubectl's client-side
// dry run needs one for discovery): what the API server would refuse at apply time, and
// what would apply but never run. Used by the golden tests, `troupe k8s render` and
// bench_k8s_manifests.
//
// Checked: every object has apiVersion, kind and a DNS-label metadata.name; namespaced
// objects are in the run's Namespace, which comes first; every label value is at most 63
// characters; each StatefulSet's selector matches its pod template's labels, its
// serviceName is a headless Service of the run, its replicas are > 0, its containers have an
// image, a command, a startup or readiness probe and resource requests, and every Secret and
// ConfigMap its volumes name is among the objects, before it; a ConfigMap's or Secret's data is
// under 1 MiB (the API's limit on an object).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::k8s {

/// Every problem found, one sentence each naming the object ("" problems: none).
std::vector<std::string> check_manifests(const std::vector<nlohmann::json>& objects);

} // namespace troupe::backends::k8s
