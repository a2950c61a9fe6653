// Honest acknowledgements on real programs: what the local backend cannot do to a node
// program is refused with the reason, lands in report.json's `refusals` (never in `faults`),
// and the same answer is given before the run by the backend's capability query.

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends::testing;
using nlohmann::json;

namespace {

std::vector<std::string> actions(const json& list) {
  std::vector<std::string> out;
  for (const auto& f : list)
    out.push_back(f["action"]);
  return out;
}

} // namespace

TEST(local_refusals, network_faults_without_the_fabric_are_refusals_not_faults) {
  register_catalog();
  auto s = scenario_from_json(json::parse(R"({
    "name": "etcd-refusals", "seed": 5, "duration": "8s",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "member", "count": 3, "node": {"program": "etcd"}}]},
    "backend": {"name": "local", "poll_interval": "200ms", "fabric": false},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "1s", "action": "partition", "sides": [["member-0"], ["member-1", "member-2"]]},
      {"at": "2s", "action": "set_link", "latency": "50ms"},
      {"at": "3s", "action": "stop", "nodes": ["member-2"]},
      {"at": "5s", "action": "start", "nodes": ["member-2"]},
      {"at": "6s", "action": "heal"}
    ]}]
  })"));
  run_request req;
  req.quiet = true;
  req.out = temp_run_dir("etcd-refusals");
  auto r = run_scenario(s, req);
  const auto& rep = r.report;
  ASSERT_TRUE(rep["error"].is_null()) << rep["error"];
  EXPECT_EQ(actions(rep["faults"]), std::vector<std::string>{"stop"}) << rep["faults"].dump(2);
  EXPECT_EQ(actions(rep["refusals"]), (std::vector<std::string>{"partition", "set_link"}))
    << rep["refusals"].dump(2);
  for (const auto& f : rep["refusals"])
    EXPECT_NE(f["reason"].get<std::string>().find("fabric"), std::string::npos) << f.dump();
  EXPECT_EQ(rep["counters"]["refusals"], 2);

  // Before any run, the backend gives the same answers.
  backends::local::local_backend b;
  auto topo = expand(s);
  fault_request partition{"", "", "partition", {"member-0", "member-1"}, true, {}};
  auto why = b.refusal(partition, s, topo);
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(*why, rep["refusals"][0]["reason"].get<std::string>());
  fault_request stop{"", "", "stop", {"member-2"}, true, {}};
  EXPECT_FALSE(b.refusal(stop, s, topo).has_value());
}
