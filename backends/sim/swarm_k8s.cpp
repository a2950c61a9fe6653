#include "backends/sim/swarm_k8s.hpp"

#include <filesystem>

#include "backends/k8s/names.hpp"

namespace troupe::backends {

using nlohmann::json;

namespace {

/// The Job's name from the scenario's: a DNS-1123 label of at most 40 characters (room for
/// the "troupe-swarm-" prefix and Kubernetes' pod suffixes).
std::string job_name(const std::string& scenario) {
  const auto label = k8s::dns_label(scenario, 40);
  return "troupe-swarm-" + (label.empty() ? std::string("scenario") : label);
}

json container(const swarm_plan& p, const std::string& file, const std::string& name,
               const k8s_job_options& o) {
  const std::string m = std::to_string(p.shard_count);
  json args = json::array({"swarm", "/scenario/" + file, "--seeds",
                           std::to_string(p.seed_first) + ".." + std::to_string(p.seed_last),
                           "--shard", "$(TROUPE_SHARD)/" + m, "-j", std::to_string(o.jobs), "--out",
                           "/results/" + name + "/shard-$(TROUPE_SHARD)"});
  if (p.vary)
    args.push_back("--vary");
  return json{
    {"name", "swarm"},
    {"image", o.image},
    {"command", json::array({"troupe"})},
    {"args", args},
    // The completion index, as the Job controller annotates each pod.
    {"env", json::array({json{
              {"name", "TROUPE_SHARD"},
              {"valueFrom",
               {{"fieldRef",
                 {{"fieldPath",
                   "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}}}}})},
    {"resources", {{"requests", {{"cpu", std::to_string(o.jobs)}}}}},
    {"volumeMounts", json::array({json{{"name", "scenario"}, {"mountPath", "/scenario"}},
                                  json{{"name", "results"}, {"mountPath", "/results"}}})}};
}

} // namespace

json swarm_k8s_job(const swarm_plan& p, const std::string& scenario_text,
                   const k8s_job_options& o) {
  const std::string name = job_name(p.scenario);
  const std::string file = std::filesystem::path(p.file).filename().string();
  json labels{{"app.kubernetes.io/name", "troupe-swarm"}, {"troupe/scenario", name}};
  json config_map{{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", {{"name", name}, {"labels", labels}}},
                  {"data", {{file, scenario_text}}}};
  json pod_spec{
    {"restartPolicy", "Never"},
    {"containers", json::array({container(p, file, name, o)})},
    {"volumes", json::array({json{{"name", "scenario"}, {"configMap", {{"name", name}}}},
                             json{{"name", "results"},
                                  {"persistentVolumeClaim", {{"claimName", o.results_claim}}}}})}};
  json job{{"apiVersion", "batch/v1"},
           {"kind", "Job"},
           {"metadata", {{"name", name}, {"labels", labels}}},
           {"spec",
            {{"completionMode", "Indexed"},
             {"completions", p.shard_count},
             {"parallelism", p.shard_count},
             // A failing seed makes its shard exit 1: a finding, not a reason to rerun it, and
             // no reason to stop the other shards (each index fails on its own).
             {"backoffLimitPerIndex", 0},
             {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod_spec}}}}}};
  return json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array({config_map, job})}};
}

} // namespace troupe::backends
