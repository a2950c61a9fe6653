#pragma once
// `troupe k8s gc`: the clean-up that holds when troupe could not tear a run down (kill -9,
// a lost machine). Every run's namespace carries the label troupe.run and the annotation
// troupe.dev/expires-at (manifests.hpp); gc deletes those whose expiry has passed. The
// selection is a pure function of `kubectl get namespaces -l troupe.run -o json` and the
// time, so it is tested on recorded output.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::backends::k8s {

struct gc_selection {
  struct entry {
    std::string name;
    std::string why; ///< expired: "expired at T"; kept: why it is kept
  };
  std::vector<entry> expired; ///< to delete, in the list's order
  std::vector<entry> kept;    ///< troupe's namespaces left alone, each with the reason
};

/// The namespaces of `list` (a v1 NamespaceList) to delete at `now_unix`: labelled
/// troupe.run, not already Terminating, with an expiry at or before now. One without a
/// readable expiry is kept, with the reason (troupe never deletes what it cannot date).
gc_selection select_expired(const nlohmann::json& list, int64_t now_unix);

/// Lists troupe's namespaces with `kubectl_binary`, prints what it deletes (or would, with
/// `dry_run`) and deletes the expired ones (`kubectl delete namespace … --wait=false`, a
/// hundred per call). Returns the exit code; throws user_error when the cluster cannot be
/// reached or kubectl fails.
int collect_namespaces(const std::string& kubectl_binary, bool dry_run, std::ostream& out);

} // namespace troupe::backends::k8s
