// The k8s backend's objects at 10,000 nodes (issue 14, item 5): the time to render and
// structurally check the objects of a 10,000-node run (backends/k8s/manifests.hpp,
// manifest_check.hpp), their bytes as applied, and the pod name of every node, beside the
// target. Two shapes: scenarios/litecoin-k8s.json scaled to 100 miners + 9,900 observers (2
// groups), and the same 10,000 nodes in 100 groups of 100 (a StatefulSet each).
//
//   ./build/benchmarks/bench_k8s_manifests [--repeat N]   (default 20; run from the source root)
//
// Prints one JSON line per shape: the median over the repeats.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/k8s/manifest_check.hpp"
#include "backends/k8s/manifests.hpp"

using nlohmann::json;
namespace k8s = troupe::backends::k8s;

namespace {

using clock_type = std::chrono::steady_clock;

constexpr uint32_t nodes_total = 10000;
// The target: a small share of the ~5 minutes a large control plane takes to run 10,000 pods
// (Testground's figure): generating and checking the objects must never be what a run waits on.
constexpr double target_ms = 1000;
constexpr uint64_t target_bytes = 1u << 20;

troupe::scenario shaped(uint32_t groups) {
  auto s = troupe::load_scenario("scenarios/litecoin-k8s.json");
  auto model = s.topology.groups.at(1);
  s.topology.groups.clear();
  for (uint32_t g = 0; g < groups; ++g) {
    auto grp = model;
    grp.name = groups == 2 ? (g == 0 ? "miner" : "observer") : "group-" + std::to_string(g);
    grp.role = g == 0 ? "validator" : "observer";
    grp.count = groups == 2 ? (g == 0 ? 100 : nodes_total - 100) : nodes_total / groups;
    s.topology.groups.push_back(grp);
  }
  return s;
}

struct sample {
  double ms = 0;
  uint64_t bytes = 0, objects = 0, problems = 0, pods = 0;
};

sample once(const troupe::scenario& s) {
  const auto t0 = clock_type::now();
  const k8s::run_identity id{"bench-10000", std::string(64, 'f'), 1764700000};
  auto m = k8s::render_manifests(s, k8s::options_of(s), id, "scenarios");
  sample out;
  out.problems = k8s::check_manifests(m.objects).size();
  // Every node's pod, as the run maps nodes to hosts.
  troupe::node_info n;
  for (const auto& g : s.topology.groups)
    for (uint32_t i = 0; i < g.count; ++i) {
      n.group = g.name;
      n.group_index = i;
      out.pods += k8s::pod_of(m, n).size() > 0;
    }
  for (const auto& o : m.objects)
    out.bytes += o.dump().size();
  out.objects = m.objects.size();
  out.ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  return out;
}

json measure(const std::string& shape, const troupe::scenario& s, int repeat) {
  std::vector<sample> all;
  for (int i = 0; i < repeat; ++i)
    all.push_back(once(s));
  std::sort(all.begin(), all.end(), [](const sample& a, const sample& b) { return a.ms < b.ms; });
  const auto& med = all[all.size() / 2];
  return json{
    {"shape", shape},
    {"nodes", nodes_total},
    {"groups", s.topology.groups.size()},
    {"objects", med.objects},
    {"pods_named", med.pods},
    {"problems", med.problems},
    {"bytes", med.bytes},
    {"render_and_check_ms_median", med.ms},
    {"render_and_check_ms_max", all.back().ms},
    {"target_ms", target_ms},
    {"target_bytes", target_bytes},
    {"within_target", med.ms <= target_ms && med.bytes <= target_bytes && med.problems == 0}};
}

} // namespace

int main(int argc, char** argv) {
  int repeat = 20;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeat") == 0)
      repeat = std::max(1, std::atoi(argv[i + 1]));
  troupe::register_catalog();
  bool ok = true;
  for (auto [shape, groups] : {std::pair<const char*, uint32_t>{"2 groups (100 + 9,900)", 2},
                               std::pair<const char*, uint32_t>{"100 groups of 100", 100}}) {
    auto line = measure(shape, shaped(groups), repeat);
    ok = ok && line["within_target"].get<bool>();
    std::printf("%s\n", line.dump().c_str());
  }
  return ok ? 0 : 1;
}
