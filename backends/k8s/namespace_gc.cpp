#include "backends/k8s/namespace_gc.hpp"

#include <ctime>

#include "actors/errors.hpp"
#include "backends/k8s/kubectl.hpp"
#include "backends/k8s/manifests.hpp"
#include "backends/k8s/utc_time.hpp"

namespace troupe::backends::k8s {

using nlohmann::json;

namespace {

std::string string_at(const json& j, const char* a, const char* b) {
  auto x = j.find(a);
  if (x == j.end() || !x->is_object())
    return "";
  auto y = x->find(b);
  return y != x->end() && y->is_string() ? y->get<std::string>() : "";
}

constexpr size_t names_per_delete = 100;

} // namespace

gc_selection select_expired(const json& list, int64_t now_unix) {
  gc_selection out;
  const auto items = list.is_object() ? list.value("items", json::array()) : json::array();
  for (const auto& ns : items) {
    const auto& md = ns.value("metadata", json::object());
    const auto name = md.value("name", std::string{});
    const auto labels = md.value("labels", json::object());
    if (name.empty() || !labels.contains(run_label))
      continue; // not a run's namespace: never ours to judge
    if (string_at(ns, "status", "phase") == "Terminating") {
      out.kept.push_back({name, "already being deleted"});
      continue;
    }
    const auto at =
      md.value("annotations", json::object()).value(expires_annotation, std::string{});
    const auto when = parse_utc_rfc3339(at);
    if (!when) {
      out.kept.push_back({name, at.empty() ? std::string("has no ") + expires_annotation +
                                               " annotation: delete it by hand if no run uses it"
                                           : std::string(expires_annotation) + " \"" + at +
                                               "\" is not an RFC 3339 UTC time"});
      continue;
    }
    if (*when <= now_unix)
      out.expired.push_back({name, "expired at " + at});
    else
      out.kept.push_back({name, "expires at " + at});
  }
  return out;
}

int collect_namespaces(const std::string& kubectl_binary, bool dry_run, std::ostream& out) {
  kubectl k{kubectl_binary};
  k.check_reachable();
  auto r = k.run({"get", "namespaces", "-l", run_label, "-o", "json"}, std::chrono::seconds(60));
  if (r.code != 0)
    throw user_error("kubectl get namespaces failed (" + kubectl::said(r) +
                     "): check that the kubeconfig's user may list namespaces");
  const auto sel = select_expired(json::parse(r.out, nullptr, false), std::time(nullptr));
  for (const auto& e : sel.kept)
    out << e.name << ": kept: " << e.why << "\n";
  for (const auto& e : sel.expired)
    out << e.name << ": " << (dry_run ? "would delete" : "deleting") << ": " << e.why << "\n";
  for (size_t i = 0; !dry_run && i < sel.expired.size(); i += names_per_delete) {
    std::vector<std::string> args{"delete", "namespace", "--wait=false"};
    for (size_t j = i; j < sel.expired.size() && j < i + names_per_delete; ++j)
      args.push_back(sel.expired[j].name);
    auto d = k.run(args, std::chrono::seconds(120));
    if (d.code != 0)
      throw user_error("kubectl delete namespace failed (" + kubectl::said(d) +
                       "): check that the kubeconfig's user may delete namespaces");
  }
  out << sel.expired.size() << " expired namespaces " << (dry_run ? "to delete" : "deleted") << ", "
      << sel.kept.size() << " kept\n";
  return 0;
}

} // namespace troupe::backends::k8s
