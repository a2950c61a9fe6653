#include "backends/k8s/manifests.hpp"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "actors/errors.hpp"
#include "backends/k8s/image.hpp"
#include "backends/k8s/names.hpp"
#include "backends/k8s/utc_time.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::k8s {

using nlohmann::json;

namespace {

constexpr const char* agent_path = "/troupe/bin/troupe";
constexpr const char* token_dir = "/troupe/token";
constexpr const char* config_dir = "/troupe/config";

std::string hex8(const std::string& text) {
  uint64_t h = 1469598103934665603ull; // FNV-1a: the same id for the same text in every build
  for (unsigned char c : text)
    h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 8);
}

json meta(const std::string& name, const std::string& ns, const json& labels) {
  json m{{"name", name}, {"labels", labels}};
  if (!ns.empty())
    m["namespace"] = ns;
  return m;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    throw user_error("cannot read the program file " + p.string() + " for its ConfigMap");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json run_namespace(const std::string& ns, const scenario& s, const k8s_options& o,
                   const run_identity& id, const json& labels) {
  json m = meta(ns, "", labels);
  m["annotations"] = {{expires_annotation, utc_rfc3339(id.now_unix + o.ttl.count())},
                      {"troupe.dev/scenario", s.name}};
  return json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", m}};
}

json token(const std::string& ns, const run_identity& id, const json& labels) {
  return json{{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", meta(token_secret, ns, labels)},
              {"type", "Opaque"},
              {"stringData", {{"token", id.token}}}};
}

json group_config(const std::string& ns, const group& g, const local::program& p,
                  const group_objects& go, const json& labels) {
  json node{{"group", g.name},    {"role", g.role},          {"count", g.count},
            {"program", p.name},  {"params", g.node.params}, {"statefulset", go.name},
            {"service", go.name}, {"image", go.image}};
  return json{
    {"apiVersion", "v1"},
    {"kind", "ConfigMap"},
    {"metadata", meta("troupe-" + go.name, ns, labels)},
    {"data", {{"program.json", read_text(p.source)}, {"node.json", node.dump(2) + "\n"}}}};
}

json headless_service(const std::string& ns, const group_objects& go, const k8s_options& o,
                      const json& labels, const json& selector) {
  return json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", meta(go.name, ns, labels)},
              {"spec",
               {{"clusterIP", "None"},
                // Peers and the orchestrator find a pod by name before it is Ready.
                {"publishNotReadyAddresses", true},
                {"selector", selector},
                {"ports", json::array({json{{"name", "agent"}, {"port", o.agent_port}}})}}}};
}

json resources(const k8s_options& o) {
  json r{{"requests", {{"cpu", o.cpu}, {"memory", o.memory}}}};
  if (!o.cpu_max.empty())
    r["limits"]["cpu"] = o.cpu_max;
  if (!o.memory_max.empty())
    r["limits"]["memory"] = o.memory_max;
  return r;
}

json agent_container(const group_objects& go, const k8s_options& o) {
  const std::string port = std::to_string(o.agent_port);
  return json{
    {"name", "node"},
    {"image", go.image},
    {"imagePullPolicy", "IfNotPresent"},
    {"command", json::array({agent_path})},
    {"args", json::array({"agent", "--listen", "0.0.0.0:" + port, "--token-file",
                          std::string(token_dir) + "/token"})},
    {"ports", json::array({json{{"name", "agent"}, {"containerPort", o.agent_port}}})},
    // Ready once the agent accepts connections (one that says nothing is not served). A
    // startup probe, not a readiness probe: the agent serves one orchestrator at a time, so
    // a probe repeated during the run would queue behind it and mark the pod unready.
    {"startupProbe",
     {{"tcpSocket", {{"port", "agent"}}}, {"periodSeconds", 1}, {"failureThreshold", 300}}},
    {"resources", resources(o)},
    // No NET_ADMIN: packet rules are refused on this backend (k8s_hosts::k8s_limits).
    {"securityContext",
     {{"allowPrivilegeEscalation", false}, {"capabilities", {{"drop", json::array({"ALL"})}}}}},
    {"volumeMounts",
     json::array({json{{"name", "token"}, {"mountPath", token_dir}, {"readOnly", true}},
                  json{{"name", "config"}, {"mountPath", config_dir}, {"readOnly", true}},
                  json{{"name", "run"}, {"mountPath", o.pod_dir}}})}};
}

json stateful_set(const std::string& ns, const group_objects& go, const local::program& p,
                  const k8s_options& o, const json& labels, const json& selector) {
  const auto grace = std::chrono::duration_cast<std::chrono::seconds>(p.stop_grace).count() + 5;
  json pod{{"containers", json::array({agent_container(go, o)})},
           {"terminationGracePeriodSeconds", grace},
           // At thousands of pods the per-Service environment variables grow every pod's
           // environment; nothing here reads them, nor the API.
           {"enableServiceLinks", false},
           {"automountServiceAccountToken", false},
           {"volumes",
            json::array({json{{"name", "token"},
                              {"secret", {{"secretName", token_secret}, {"defaultMode", 0400}}}},
                         json{{"name", "config"}, {"configMap", {{"name", "troupe-" + go.name}}}},
                         json{{"name", "run"}, {"emptyDir", json::object()}}})}};
  return json{{"apiVersion", "apps/v1"},
              {"kind", "StatefulSet"},
              {"metadata", meta(go.name, ns, labels)},
              {"spec",
               {{"serviceName", go.name},
                {"replicas", go.count},
                // Every pod at once: the nodes have no start order, and a 10,000-node run
                // cannot wait for them one by one.
                {"podManagementPolicy", "Parallel"},
                {"selector", {{"matchLabels", selector}}},
                {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}}}};
}

} // namespace

std::string run_id_for(const std::string& text) {
  auto label = dns_label(text);
  if (label.empty())
    label = "run";
  if (label.size() <= 56)
    return label;
  return dns_label(label.substr(0, 47)) + "-" + hex8(text);
}

std::string namespace_for(const std::string& run_id) { return "troupe-" + run_id; }

run_manifests render_manifests(const scenario& s, const k8s_options& o, const run_identity& id,
                               const std::filesystem::path& base_dir) {
  run_manifests m;
  m.ns = namespace_for(id.run_id);
  const json run_labels{{run_label, id.run_id}, {"app.kubernetes.io/managed-by", "troupe"}};
  m.objects.push_back(run_namespace(m.ns, s, o, id, run_labels));
  m.objects.push_back(token(m.ns, id, run_labels));
  std::set<std::string> names;
  for (const auto& g : s.topology.groups) {
    if (g.node.program.empty())
      throw user_error("group " + g.name +
                       " has no node program, so the k8s backend cannot run "
                       "it: add \"program\" (e.g. \"litecoin-regtest\") to its node spec");
    auto p = local::load_program(g.node.program, base_dir);
    group_objects go{g.name, dns_label(g.name, 50), p->name, image_for(o, g.name, *p), g.count};
    if (go.name != g.name || !names.insert(go.name).second)
      throw user_error("group \"" + g.name +
                       "\" cannot name a StatefulSet (lower-case letters, "
                       "digits and '-', at most 50, unique): rename it, e.g. \"" +
                       (go.name.empty() ? std::string("nodes") : go.name) + "\"");
    json labels = run_labels;
    labels[group_label] = go.name;
    const json selector{{run_label, id.run_id}, {group_label, go.name}};
    m.objects.push_back(group_config(m.ns, g, *p, go, labels));
    m.objects.push_back(headless_service(m.ns, go, o, labels, selector));
    m.objects.push_back(stateful_set(m.ns, go, *p, o, labels, selector));
    m.groups.push_back(std::move(go));
  }
  return m;
}

std::string pod_of(const run_manifests& m, const node_info& n) {
  for (const auto& g : m.groups)
    if (g.group == n.group)
      return g.name + "-" + std::to_string(n.group_index);
  throw user_error("node " + n.id + " is in no group of the run's manifests");
}

json as_list(const run_manifests& m) {
  return json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", m.objects}};
}

std::vector<std::string> file_names(const run_manifests& m) {
  std::vector<std::string> out;
  for (size_t i = 0; i < m.objects.size(); ++i) {
    const auto& o = m.objects[i];
    char n[24];
    std::snprintf(n, sizeof n, "%02zu", i);
    out.push_back(std::string(n) + "-" + dns_label(o["kind"].get<std::string>()) + "-" +
                  o["metadata"]["name"].get<std::string>() + ".json");
  }
  return out;
}

} // namespace troupe::backends::k8s
