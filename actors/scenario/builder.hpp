#pragma once
// A fluent builder whose every step reads like the sentence a tester would say:
//
//   auto s = ScenarioBuilder::topology_with([](auto& t) {
//              t.layout_random(8).link(50ms, 10ms).group("validator", 20).group("observer", 10);
//            })
//              .transactions_with(10.0)
//              .expect_consensus_liveness()
//              .with_run_duration(10min)
//              .build();
//
// build() validates through the same path as JSON (scenario_from_json(to_json(...))), so a
// built scenario and its JSON are the same value, and errors read the same.

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/scenario/scenario.hpp"

namespace troupe {

class topology_builder {
public:
  explicit topology_builder(topology& t)
    : t_(t) {}

  topology_builder& layout_star() { return layout(layout_kind::star); }
  topology_builder& layout_chain() { return layout(layout_kind::chain); }
  topology_builder& layout_ring() { return layout(layout_kind::ring); }
  topology_builder& layout_mesh() { return layout(layout_kind::mesh); }
  topology_builder& layout_random(uint32_t degree) {
    t_.layout = {layout_kind::random, degree};
    return *this;
  }
  topology_builder& link(duration latency, duration jitter = duration::zero(), double loss = 0,
                         uint64_t bandwidth_bps = 0) {
    t_.link = {latency, jitter, loss, bandwidth_bps, link_transport::model_default, true};
    return *this;
  }
  /// Adds a group (node model `chain`, no program). The role defaults to its name, which
  /// build() accepts only for "validator" and "observer": any other name would decide whether
  /// the group's nodes produce blocks (actors/scenario/leadership.hpp). Following
  /// calls to model()/program()/param()/group_link() refine the last group added.
  topology_builder& group(const std::string& name, uint32_t count, const std::string& role = "");
  topology_builder& model(const std::string& m);
  topology_builder& program(const std::string& p);
  topology_builder& param(const std::string& key, nlohmann::json value);
  topology_builder& group_link(const link_profile& l);
  /// Live backends: scrape the last group's program /metrics (series empty: its defaults).
  topology_builder& scrape(duration every, std::vector<std::string> series = {});

private:
  topology_builder& layout(layout_kind k) {
    t_.layout = {k, 0};
    return *this;
  }
  troupe::group& last();
  topology& t_;
};

class scenario_builder {
public:
  explicit scenario_builder(std::string name = "scenario");

  static scenario_builder topology_with(const std::function<void(topology_builder&)>& f) {
    return scenario_builder{}.with_topology(f);
  }

  // -- what to run ------------------------------------------------------------

  scenario_builder& named(std::string name);
  scenario_builder& with_topology(const std::function<void(topology_builder&)>& f);
  scenario_builder& with_seed(uint64_t seed);
  scenario_builder& with_run_duration(duration d);
  scenario_builder& with_backend(const std::string& name, nlohmann::json params = {});

  // -- workloads --------------------------------------------------------------

  scenario_builder& transactions_with(double rate_per_second, uint32_t users = 100,
                                      const std::string& target = "all");
  scenario_builder& chaos_with(nlohmann::json params);
  scenario_builder& steps_with(nlohmann::json steps);
  scenario_builder& workload(const std::string& kind, nlohmann::json params = {},
                             const std::string& name = "");

  // -- expectations -----------------------------------------------------------

  scenario_builder& expect_consensus_liveness(uint64_t min_height = 1, uint64_t max_lag = 5);
  scenario_builder& expect_convergence(duration within);
  scenario_builder& expect_safety();
  scenario_builder& expect_tx_inclusion(double min_ratio);
  scenario_builder& expect(const std::string& kind, nlohmann::json params = {},
                           const std::string& name = "");

  /// Validates (throws validation_failed listing every problem) and returns the scenario.
  scenario build() const;
  /// The scenario as built, unvalidated.
  const scenario& draft() const noexcept { return s_; }

private:
  scenario s_;
};

using ScenarioBuilder = scenario_builder;

} // namespace troupe
