#include "backends/k8s/kubectl.hpp"

#include <cstdlib>

#include "actors/errors.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::k8s {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

} // namespace

kubectl::kubectl(const std::string& binary)
  : kubeconfig_(env_or_empty("TROUPE_KUBECONFIG")) {
  local::program p;
  p.name = "kubectl";
  p.binary = binary;
  p.package = "kubectl";
  binary_ = local::resolve_binary(p);
}

ssh::process_result kubectl::run(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout,
                                 const std::string& stdin_file) const {
  std::vector<std::string> argv{binary_};
  if (!kubeconfig_.empty())
    argv.push_back("--kubeconfig=" + kubeconfig_);
  argv.insert(argv.end(), args.begin(), args.end());
  return ssh::run_process(argv, timeout, stdin_file);
}

std::string kubectl::config_source() const {
  if (!kubeconfig_.empty())
    return "$TROUPE_KUBECONFIG=" + kubeconfig_;
  if (auto k = env_or_empty("KUBECONFIG"); !k.empty())
    return "$KUBECONFIG=" + k;
  return "~/.kube/config";
}

std::string kubectl::said(const ssh::process_result& r) {
  if (r.timed_out)
    return "no answer in time";
  auto line = last_line(r.err);
  return line.empty() ? last_line(r.out) : line;
}

void kubectl::check_reachable() const {
  auto r = run({"--request-timeout=10s", "get", "--raw", "/version"}, std::chrono::seconds(20));
  if (r.code == 0)
    return;
  throw user_error("the k8s backend cannot reach a Kubernetes API server (kubeconfig " +
                   config_source() + "; kubectl said: " + said(r) +
                   "): set TROUPE_KUBECONFIG to the kubeconfig of a cluster, or run the "
                   "scenario with --backend local");
}

} // namespace troupe::backends::k8s
