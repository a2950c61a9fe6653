// Honest acknowledgements: a control or fault the backend refuses (ok = false, an error, no
// answer) is a refusal in report.json and report.html, with its reason, and never a fault
// window or a fault count; only what the backend acknowledged is a fault, stamped when the
// acknowledgement arrived. A fake wall-clock backend answers the way a live one may.

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "actors/node_protocol.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "report/report.hpp"
#include "report/report_html.hpp"
#include "tests/support/paths.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

using namespace std::chrono_literals;

/// Two nodes that stop and start but cannot pause, and a fabric that cannot partition, set
/// links or skew clocks (skew answers with an error instead of an ack), but can heal and clog.
class refusing_backend : public backend {
public:
  std::string name() const override { return "local"; }

  deployment deploy(caf::actor_system& sys, const scenario&, const expanded_topology& topo,
                    const run_env&) override {
    deployment d;
    for (const auto& n : topo.nodes) {
      auto a = sys.spawn([id = n.id](caf::event_based_actor*) -> caf::behavior {
        return {
          [id](get_status_atom) { return node_status{id, true, 1, "tip", 0, "", 1, 0}; },
          [](subscribe_atom, const caf::actor&) { return true; },
          [](subscribe_atom, const caf::actor&, block_filter) { return true; },
          [](submit_tx_atom, const transaction&) {
            return tx_ack{false, "no"};
          },
          [](control_atom, control_action a) {
            if (a == control_action::pause)
              return control_ack{false, "this backend cannot pause"};
            return control_ack{true, ""};
          },
        };
      });
      d.nodes.push_back({n.id, n.group, n.role, a});
      actors_.push_back(a);
    }
    d.fabric = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {
        [](get_status_atom) -> caf::result<std::vector<node_status>> {
          return caf::make_error(caf::sec::unexpected_message);
        },
        [](partition_atom, const partition_cmd&) {
          return control_ack{false, "no partitions here"};
        },
        [](heal_atom) {
          return control_ack{true, ""};
        },
        [](set_link_atom, const link_cmd&) {
          return control_ack{false, "no link shaping here"};
        },
        [](clog_atom, const clog_cmd&) {
          return control_ack{true, ""};
        },
        [](skew_atom, const clock_skew_cmd&) -> caf::result<control_ack> {
          return caf::make_error(caf::sec::unexpected_message);
        },
      };
    });
    actors_.push_back(d.fabric);
    return d;
  }

  void drive(caf::actor_system&, const std::function<bool()>& done) override {
    while (!done())
      std::this_thread::sleep_for(10ms);
  }

  void teardown() noexcept override {
    for (auto& a : actors_)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    actors_.clear();
  }

private:
  std::vector<caf::actor> actors_;
};

scenario steps_scenario() {
  register_catalog();
  return scenario_from_json(json::parse(R"({
    "name": "honest-acks", "seed": 3, "duration": "2s", "backend": "local",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "v", "role": "validator", "count": 2, "node": {"model": "chain"}}]},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "100ms", "action": "pause", "nodes": ["v-0"]},
      {"at": "200ms", "action": "stop", "nodes": ["v-1"]},
      {"at": "300ms", "action": "partition", "sides": [["v-0"], ["v-1"]]},
      {"at": "400ms", "action": "set_link", "latency": "100ms"},
      {"at": "500ms", "action": "skew", "nodes": ["all"], "offset": "1s"},
      {"at": "600ms", "action": "clog", "from": ["v-0"], "to": ["v-1"], "duration": "300ms"},
      {"at": "1s", "action": "start", "nodes": ["v-1"]},
      {"at": "1100ms", "action": "heal"}
    ]}]
  })"));
}

} // namespace

TEST(honest_acks, refused_steps_are_refusals_with_reasons_never_faults) {
  run_request req;
  req.quiet = true;
  req.out = troupe::test::fresh_dir("honest-acks");
  req.make_backend = [] { return std::make_unique<refusing_backend>(); };
  auto r = run_scenario(steps_scenario(), req);
  const auto& rep = r.report;

  // Only what was acknowledged is a fault: stop (closed by start) and clog (its planned end).
  std::vector<std::string> fault_actions;
  for (const auto& f : rep["faults"])
    fault_actions.push_back(f["action"]);
  EXPECT_EQ(fault_actions, (std::vector<std::string>{"stop", "clog"})) << rep["faults"].dump(2);
  for (const auto& f : rep["faults"])
    if (f["action"] == "stop") {
      EXPECT_NEAR(f["start_s"].get<double>(), 0.2, 0.15);
      EXPECT_NEAR(f["end_s"].get<double>(), 1.0, 0.15) << "closed by the acknowledged start";
    }

  // Everything refused is listed with its action, nodes and the backend's reason.
  std::map<std::string, json> refused;
  for (const auto& f : rep["refusals"])
    refused[f["action"]] = f;
  ASSERT_EQ(refused.size(), 4u) << rep["refusals"].dump(2);
  EXPECT_EQ(refused["pause"]["reason"], "this backend cannot pause");
  EXPECT_EQ(refused["pause"]["nodes"], json::array({"v-0"}));
  EXPECT_EQ(refused["partition"]["reason"], "no partitions here");
  EXPECT_EQ(refused["partition"]["nodes"], json::array({"v-0", "v-1"}));
  EXPECT_EQ(refused["set_link"]["reason"], "no link shaping here");
  // An error instead of an acknowledgement is a refusal too, naming what happened.
  EXPECT_NE(refused["clock_skew"]["reason"].get<std::string>().find("no acknowledgement"),
            std::string::npos);
  EXPECT_EQ(refused["clock_skew"]["nodes"], json::array({"v-0", "v-1"}));
  EXPECT_EQ(rep["counters"]["refusals"], 4);

  // The console names them; the HTML lists them in their own section, not as fault windows.
  auto console = console_summary(rep);
  EXPECT_NE(console.find("refused: 4 controls or faults"), std::string::npos) << console;
  EXPECT_NE(console.find("no partitions here"), std::string::npos) << console;
  auto html = render_report_html(rep);
  EXPECT_NE(html.find("id=\"refusals\""), std::string::npos);
  EXPECT_NE(html.find("this backend cannot pause"), std::string::npos);
}

TEST(honest_acks, the_simulator_acknowledges_every_step) {
  auto s = steps_scenario();
  s.backend.name = "sim";
  run_request req;
  req.quiet = true;
  req.out = troupe::test::fresh_dir("honest-acks-sim");
  auto r = run_scenario(s, req);
  EXPECT_TRUE(r.report["refusals"].empty()) << r.report["refusals"].dump(2);
  std::vector<std::string> fault_actions;
  for (const auto& f : r.report["faults"])
    fault_actions.push_back(f["action"]);
  EXPECT_EQ(fault_actions, (std::vector<std::string>{"pause", "stop", "partition", "set_link",
                                                     "clock_skew", "clog"}));
  EXPECT_EQ(r.report["counters"]["refusals"], 0);
}
