#include "actors/scenario/builder.hpp"

#include <stdexcept>

#include "actors/scenario/scenario_json.hpp"
#include "actors/units.hpp"

namespace troupe {

// -- topology_builder ---------------------------------------------------------

topology_builder& topology_builder::group(const std::string& name, uint32_t count,
                                          const std::string& role) {
  troupe::group g;
  g.name = name;
  g.role = role.empty() ? name : role;
  g.role_given = !role.empty();
  g.count = count;
  g.node.model = "chain";
  t_.groups.push_back(std::move(g));
  return *this;
}

troupe::group& topology_builder::last() {
  if (t_.groups.empty())
    throw std::logic_error("topology_builder: call group(...) before refining a group");
  return t_.groups.back();
}

topology_builder& topology_builder::model(const std::string& m) {
  last().node.model = m;
  return *this;
}

topology_builder& topology_builder::program(const std::string& p) {
  last().node.program = p;
  return *this;
}

topology_builder& topology_builder::param(const std::string& key, nlohmann::json value) {
  last().node.params[key] = std::move(value);
  return *this;
}

topology_builder& topology_builder::group_link(const link_profile& l) {
  last().link = l;
  last().link->given = true;
  return *this;
}

topology_builder& topology_builder::scrape(duration every, std::vector<std::string> series) {
  last().scrape = scrape_config{every, std::move(series)};
  return *this;
}

// -- scenario_builder ---------------------------------------------------------

scenario_builder::scenario_builder(std::string name) { s_.name = std::move(name); }

scenario_builder& scenario_builder::named(std::string name) {
  s_.name = std::move(name);
  return *this;
}

scenario_builder& scenario_builder::with_topology(const std::function<void(topology_builder&)>& f) {
  topology_builder t{s_.topology};
  f(t);
  return *this;
}

scenario_builder& scenario_builder::with_seed(uint64_t seed) {
  s_.seed = seed;
  return *this;
}

scenario_builder& scenario_builder::with_run_duration(duration d) {
  s_.run_duration = d;
  return *this;
}

scenario_builder& scenario_builder::with_backend(const std::string& name, nlohmann::json params) {
  s_.backend.name = name;
  s_.backend.params = params.is_null() ? nlohmann::json::object() : std::move(params);
  return *this;
}

scenario_builder& scenario_builder::workload(const std::string& kind, nlohmann::json params,
                                             const std::string& name) {
  s_.workloads.push_back({kind, name.empty() ? kind : name,
                          params.is_null() ? nlohmann::json::object() : std::move(params)});
  return *this;
}

scenario_builder& scenario_builder::transactions_with(double rate_per_second, uint32_t users,
                                                      const std::string& target) {
  return workload("transactions",
                  {{"rate", format_rate(rate_per_second)}, {"users", users}, {"target", target}});
}

scenario_builder& scenario_builder::chaos_with(nlohmann::json params) {
  return workload("chaos", std::move(params));
}

scenario_builder& scenario_builder::steps_with(nlohmann::json steps) {
  return workload("steps", {{"steps", std::move(steps)}});
}

scenario_builder& scenario_builder::expect(const std::string& kind, nlohmann::json params,
                                           const std::string& name) {
  s_.expectations.push_back({kind, name.empty() ? kind : name,
                             params.is_null() ? nlohmann::json::object() : std::move(params)});
  return *this;
}

scenario_builder& scenario_builder::expect_consensus_liveness(uint64_t min_height,
                                                              uint64_t max_lag) {
  return expect("consensus_liveness", {{"min_height", min_height}, {"max_lag", max_lag}});
}

scenario_builder& scenario_builder::expect_convergence(duration within) {
  return expect("convergence", {{"within", format_duration(within)}});
}

scenario_builder& scenario_builder::expect_safety() { return expect("safety"); }

scenario_builder& scenario_builder::expect_tx_inclusion(double min_ratio) {
  return expect("tx_inclusion", {{"min_ratio", min_ratio}});
}

scenario scenario_builder::build() const { return scenario_from_json(to_json(s_)); }

} // namespace troupe
