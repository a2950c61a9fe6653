#pragma once
// The k8s backend's one way to the cluster: the `kubectl` client, run to its end with a
// timeout (backends/ssh/process.hpp), its kubeconfig from $TROUPE_KUBECONFIG (passed as
// --kubeconfig) or else kubectl's own ($KUBECONFIG, ~/.kube/config). No client library:
// kubectl is what an operator has and trusts, and it speaks every API version the cluster
// does.

#include <chrono>
#include <string>
#include <vector>

#include "backends/ssh/process.hpp"

namespace troupe::backends::k8s {

class kubectl {
public:
  /// `binary`: a name on PATH or a path (the backend's param "kubectl"); throws user_error
  /// naming the package when it is not there.
  explicit kubectl(const std::string& binary = "kubectl");

  /// Runs `kubectl [--kubeconfig F] ARGS` (stdin from `stdin_file`, or nothing).
  ssh::process_result run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                          const std::string& stdin_file = {}) const;

  /// Throws user_error in one sentence when no API server answers (which kubeconfig, what
  /// kubectl said, the fix).
  void check_reachable() const;

  /// Which kubeconfig is used, for messages: "$TROUPE_KUBECONFIG=F", "$KUBECONFIG=F" or
  /// "~/.kube/config".
  std::string config_source() const;

  /// The last non-empty line of a result's stderr (or stdout), for messages.
  static std::string said(const ssh::process_result& r);

private:
  std::string binary_;
  std::string kubeconfig_; ///< from $TROUPE_KUBECONFIG ("" = kubectl's own choice)
};

} // namespace troupe::backends::k8s
