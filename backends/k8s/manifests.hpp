#pragma once
// The Kubernetes objects of one k8s-backend run, in the order they are applied:
//   Namespace  troupe-<run id>, labels troupe.run=<run id> and app.kubernetes.io/managed-by=troupe,
//              annotation troupe.dev/expires-at (now + ttl: what `troupe k8s gc` deletes)
//   Secret     troupe-agent-token: the token every pod's agent asks of the orchestrator
//   per group  a ConfigMap troupe-<group> (the program definition and the group's node spec),
//              a headless Service <group> (stable names <group>-<i>.<group>.<namespace>.svc)
//              and a StatefulSet <group> (replicas = the group's count, pods started in
//              parallel): its container runs the agent (`/troupe/bin/troupe agent --listen
//              0.0.0.0:PORT --token-file …`), which starts the node program when the
//              orchestrator asks, with a startup probe on the agent's port (the pod is Ready once
//              the agent listens) and the resources of the params
// Node n of a group is its pod <group>-<group index>. Each object is complete for
// `kubectl apply --server-side` (apiVersion, kind, metadata.name and namespace); the same
// inputs give the same bytes.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"
#include "backends/k8s/k8s_options.hpp"

namespace troupe::backends::k8s {

/// What makes one run's objects its own.
struct run_identity {
  std::string run_id;   ///< a DNS label of at most 56 characters (run_id_for)
  std::string token;    ///< the agents' token (Secret troupe-agent-token)
  int64_t now_unix = 0; ///< the expiry is now + ttl
};

/// Where a group's pods are.
struct group_objects {
  std::string group;   ///< the scenario's name
  std::string name;    ///< its StatefulSet's and Service's (a DNS label)
  std::string program; ///< the program's name
  std::string image;
  uint32_t count = 0;
};

struct run_manifests {
  std::string ns;                      ///< troupe-<run id>
  std::vector<group_objects> groups;   ///< topology order
  std::vector<nlohmann::json> objects; ///< apply order
};

constexpr const char* run_label = "troupe.run";
constexpr const char* group_label = "troupe.group";
constexpr const char* expires_annotation = "troupe.dev/expires-at";
constexpr const char* token_secret = "troupe-agent-token";

/// A run id from any text (a run directory's name): its DNS label, cut to 56 characters
/// with a hash of the whole kept at the end when it is longer.
std::string run_id_for(const std::string& text);

/// "troupe-<run id>".
std::string namespace_for(const std::string& run_id);

/// The objects of the run of `s` (`base_dir`: where program files named by a relative path
/// are found). Throws user_error naming the group when its name cannot be a Kubernetes name.
run_manifests render_manifests(const scenario& s, const k8s_options& o, const run_identity& id,
                               const std::filesystem::path& base_dir = {});

/// The pod that runs node `n` (in its group's StatefulSet).
std::string pod_of(const run_manifests& m, const node_info& n);

/// Every object as one `v1` List (what `troupe k8s render` prints without -o).
nlohmann::json as_list(const run_manifests& m);

/// The file each object is written to by `troupe k8s render -o DIR`, in apply order:
/// "NN-<kind>-<name>.json" (kubectl apply -f DIR takes them in this order).
std::vector<std::string> file_names(const run_manifests& m);

} // namespace troupe::backends::k8s
