#pragma once
// The table of bad scenarios: each case mutates a good scenario (bad_scenario_base()) and
// lists every error validation reports, exactly. scenario_json_test checks the messages;
// tests/apps/schema_test checks that the JSON Schema (`troupe schema scenario`) rejects every
// case it can express.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/registry.hpp"

namespace troupe::test {

struct bad_case {
  const char* name;
  std::function<void(nlohmann::json&)> mutate;
  std::vector<std::string> expected; ///< every error, exactly, in order
};

/// A small valid scenario that each case breaks.
inline nlohmann::json bad_scenario_base() {
  return nlohmann::json::parse(R"({"name": "t", "seed": 1, "duration": "1m",
    "topology": {"layout": "mesh", "link": {"latency": "50ms"},
                 "groups": [{"name": "validator", "count": 3, "node": {"model": "chain"}}]},
    "workloads": [{"kind": "transactions", "rate": "10/s"}],
    "expectations": [{"kind": "safety"}]})");
}

/// The catalog must be filled first: some messages list the known kinds.
inline std::vector<bad_case> bad_scenario_cases() {
  using nlohmann::json;
  return {
    {"negative count",
     [](json& j) { j["topology"]["groups"][0]["count"] = -2; },
     {"topology.groups[0].count: must be an integer in 1..100000000, got -2"}},
    {"count as string",
     [](json& j) { j["topology"]["groups"][0]["count"] = "3"; },
     {"topology.groups[0].count: must be an integer in 1..100000000, got \"3\""}},
    {"misspelt top-level key",
     [](json& j) { j["durration"] = "1m"; },
     {"durration: unknown key; did you mean \"duration\"? allowed here: $schema, backend, "
      "description, duration, expectations, name, seed, topology, workloads"}},
    {"malformed duration",
     [](json& j) { j["duration"] = "10 minutes"; },
     {"duration: must be a duration like 250ms, 2s, 10m or 1h, got \"10 minutes\""}},
    {"missing duration",
     [](json& j) { j.erase("duration"); },
     {"duration: is required: a duration like 250ms, 2s, 10m or 1h"}},
    {"malformed latency",
     [](json& j) { j["topology"]["link"]["latency"] = "fast"; },
     {"topology.link.latency: must be a duration like 250ms, 2s, 10m or 1h, got \"fast\""}},
    {"loss out of range",
     [](json& j) { j["topology"]["link"]["loss"] = 1.5; },
     {"topology.link.loss: must be a probability in 0..1, got 1.5"}},
    {"bandwidth in bytes",
     [](json& j) { j["topology"]["link"]["bandwidth"] = "10MB"; },
     {"topology.link.bandwidth: must be a bandwidth like 500kbps, 10Mbps or 1Gbps, got "
      "\"10MB\""}},
    {"unknown transport",
     [](json& j) { j["topology"]["link"]["transport"] = "tcp"; },
     {"topology.link.transport: must be one of model, datagram, stream, got \"tcp\""}},
    {"unknown layout",
     [](json& j) { j["topology"]["layout"] = "tree"; },
     {"topology.layout: must be one of star, chain, ring, mesh or {\"kind\": \"random\", "
      "\"degree\": N}, got \"tree\""}},
    {"random without degree",
     [](json& j) { j["topology"]["layout"] = "random"; },
     {"topology.layout: random needs a degree: {\"kind\": \"random\", \"degree\": 8}"}},
    {"random degree 0",
     [](json& j) {
       j["topology"]["layout"] = {{"kind", "random"}, {"degree", 0}};
     },
     {"topology.layout.degree: must be an integer in 1..10000, got 0"}},
    {"duplicate group",
     [](json& j) {
       j["topology"]["groups"].push_back(
         {{"name", "validator"}, {"count", 1}, {"node", {{"model", "chain"}}}});
     },
     {"topology.groups[1].name: duplicate group name \"validator\"; group names must be "
      "unique"}},
    {"no groups for a node workload",
     [](json& j) { j["topology"]["groups"] = json::array(); },
     {"workloads[0].kind: \"transactions\" needs nodes, but topology.groups is empty: add a "
      "group, or keep to the kinds that run without nodes (" +
        registry::global().nodeless_names() + ")",
      "expectations[0].kind: \"safety\" needs nodes, but topology.groups is empty: add a group, "
      "or keep to the kinds that run without nodes (" +
        registry::global().nodeless_names() + ")"}},
    {"nothing to run",
     [](json& j) {
       j["topology"]["groups"] = json::array();
       j["workloads"] = json::array();
       j["expectations"] = json::array();
     },
     {"topology.groups: is empty and the scenario has no workload: there is nothing to run; add "
      "a group, or a \"jobs\" workload"}},
    {"groups not a list",
     [](json& j) { j["topology"]["groups"] = "validator"; },
     {"topology.groups: must be a list of groups, got \"validator\""}},
    {"unknown model",
     [](json& j) { j["topology"]["groups"][0]["node"]["model"] = "pbft"; },
     {"topology.groups[0].node.model: unknown model \"pbft\"; known models: " +
      registry::global().model_names()}},
    {"unknown workload kind",
     [](json& j) {
       j["workloads"].push_back({{"kind", "spam"}});
     },
     {"workloads[1].kind: unknown workload kind \"spam\"; known kinds: " +
      registry::global().workload_names()}},
    {"malformed rate",
     [](json& j) { j["workloads"][0]["rate"] = "10 per second"; },
     {"workloads[0].rate: must be a rate like 10/s, 600/m or 2/h, got \"10 per second\""}},
    {"reference to a missing group",
     [](json& j) { j["workloads"][0]["target"] = "miner"; },
     {"workloads[0].target: \"miner\" names no group or node; use \"all\", a group "
      "(validator) or a node id such as \"validator-0\""}},
    {"unknown expectation kind",
     [](json& j) {
       j["expectations"].push_back({{"kind", "finality"}});
     },
     {"expectations[1].kind: unknown expectation kind \"finality\"; known kinds: " +
      registry::global().expectation_names()}},
    {"ratio out of range",
     [](json& j) {
       j["expectations"].push_back({{"kind", "tx_inclusion"}, {"min_ratio", 2}});
     },
     {"expectations[1].min_ratio: must be a probability in 0..1, got 2"}},
    {"unknown step action",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps", {{{"at", "10s"}, {"action", "explode"}, {"nodes", {"validator-0"}}}}}});
     },
     {"workloads[1].steps[0].action: must be one of stop, start, restart, kill, pause, resume, "
      "isolate, heal, partition, set_link, clog, skew, signal, got \"explode\""}},
    {"step names a missing node",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps", {{{"at", "10s"}, {"action", "stop"}, {"nodes", {"validator-9"}}}}}});
     },
     {"workloads[1].steps[0].nodes: \"validator-9\" names no group or node; use \"all\", a "
      "group (validator) or a node id such as \"validator-0\""}},
    {"step after the end",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps", {{{"at", "2m"}, {"action", "stop"}, {"nodes", {"validator-0"}}}}}});
     },
     {"workloads[1].steps[0].at: is after the end of the run (1m); the step would never "
      "happen"}},
    {"misspelt workload param",
     [](json& j) { j["workloads"][0]["rat"] = "5/s"; },
     {"workloads[0].rat: unknown key; did you mean \"rate\"? allowed here: kind, name, rate, "
      "start_after, stop_before, target, tx_bytes, users"}},
    {"bad model param",
     [](json& j) {
       j["topology"]["groups"][0]["node"]["params"] = {{"slot", "fast"}};
     },
     {"topology.groups[0].node.params.slot: must be a duration like 250ms, 2s, 10m or 1h, got "
      "\"fast\""}},
    {"unknown backend",
     [](json& j) { j["backend"] = "docker"; },
     {"backend: unknown backend \"docker\"; known backends: attach, compose, k8s, local, sim, "
      "ssh"}},
    {"name with a space",
     [](json& j) { j["name"] = "my scenario"; },
     {"name: must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
      "got \"my scenario\""}},
    {"negative seed", [](json& j) { j["seed"] = -1; }, {"seed: must be an integer >= 0, got -1"}},
    {"duplicate expectation name",
     [](json& j) {
       j["expectations"].push_back({{"kind", "safety"}});
     },
     {"expectations[1].name: duplicate name \"safety\"; give each entry a unique \"name\""}},
    {"chaos with nothing to do",
     [](json& j) {
       j["workloads"].push_back({{"kind", "chaos"}});
     },
     {"workloads[1]: chaos needs at least one of \"restarts\", \"partitions\" or "
      "\"clock_skew\""}},
    {"convergence without within",
     [](json& j) {
       j["expectations"].push_back({{"kind", "convergence"}});
     },
     {"expectations[1].within: is required: a duration like 250ms, 2s, 10m or 1h"}},
    {"scrape under sim",
     [](json& j) {
       j["topology"]["groups"][0]["node"]["program"] = "etcd";
       j["topology"]["groups"][0]["scrape"] = json::object();
     },
     {"topology.groups[0].scrape: scrapes a live program's /metrics, but the scenario runs on "
      "the sim backend, whose simulated nodes expose none: use \"backend\": \"local\" or "
      "remove \"scrape\""}},
    {"scrape a program without metrics",
     [](json& j) {
       j["backend"] = "local";
       j["topology"]["groups"][0]["node"] = {{"program", "litecoin-regtest"}};
       j["topology"]["groups"][0]["scrape"] = {{"every", "2s"}};
     },
     {"topology.groups[0].scrape: program litecoin-regtest exposes no /metrics (its program "
      "JSON has no \"metrics\" key), so there is nothing to scrape: remove \"scrape\" from "
      "this group"}},
    {"scrape a model",
     [](json& j) {
       j["backend"] = "local";
       j["topology"]["groups"][0]["scrape"] = json::object();
     },
     {"topology.groups[0].scrape: reads a live node program's /metrics, and this group's node "
      "has no \"program\" (simulated models expose none): add a program such as \"etcd\" or "
      "remove \"scrape\""}},
    {"scrape period malformed",
     [](json& j) {
       j["backend"] = "local";
       j["topology"]["groups"][0]["node"] = {{"program", "etcd"}};
       j["topology"]["groups"][0]["scrape"] = {{"every", "often"}};
     },
     {"topology.groups[0].scrape.every: must be a duration like 250ms, 2s, 10m or 1h, got "
      "\"often\""}},
    {"scrape key misspelt",
     [](json& j) {
       j["backend"] = "local";
       j["topology"]["groups"][0]["node"] = {{"program", "etcd"}};
       j["topology"]["groups"][0]["scrape"] = {{"evry", "1s"}};
     },
     {"topology.groups[0].scrape.evry: unknown key; did you mean \"every\"? allowed here: "
      "every, series"}},
    {"scrape series malformed",
     [](json& j) {
       j["backend"] = "local";
       j["topology"]["groups"][0]["node"] = {{"program", "etcd"}};
       j["topology"]["groups"][0]["scrape"] = {
         {"series", {"etcd_server_has_leader", "etcd_disk{le=0.5}", "9lives"}}};
     },
     {"topology.groups[0].scrape.series[1]: \"etcd_disk{le=0.5}\" the value of label le must "
      "be in double quotes",
      "topology.groups[0].scrape.series[2]: \"9lives\" must start with a metric name (letters, "
      "digits, '_' and ':', not starting with a digit), as in "
      "etcd_server_proposals_committed_total or name{label=\"value\"}"}},
    {"not an object",
     [](json& j) { j = json::array(); },
     {"a scenario must be a JSON object with \"name\", \"duration\" and \"topology\", got []"}},
    // -- issue 17: no input crashes troupe ------------------------------------------------
    {"more nodes than one run may have",
     [](json& j) { j["topology"]["groups"][0]["count"] = 1'000'000; },
     {"topology.groups: 1000000 nodes in all (the sum of the groups' counts) is more than "
      "100000, the most one run may have: the simulator is measured up to 100,000 nodes and the "
      "chain model holds ~42 KB per node (docs/kernel.md); lower the counts"}},
    {"groups summing past the limit",
     [](json& j) {
       j["topology"]["groups"][0]["count"] = 100'000'000;
       j["topology"]["groups"].push_back(
         {{"name", "observer"}, {"count", 100'000'000}, {"node", {{"model", "chain"}}}});
     },
     {"topology.groups: 200000000 nodes in all (the sum of the groups' counts) is more than "
      "100000, the most one run may have: the simulator is measured up to 100,000 nodes and the "
      "chain model holds ~42 KB per node (docs/kernel.md); lower the counts"}},
    {"a mesh with too many links",
     [](json& j) { j["topology"]["groups"][0]["count"] = 5000; },
     {"topology.layout: a mesh layout over 5000 nodes makes 12497500 links, more than 5000000, "
      "the most one run may have (each costs memory before the run starts); use {\"kind\": "
      "\"random\", \"degree\": 8} or fewer nodes"}},
    {"a long name with a newline is cut and escaped",
     [](json& j) { j["name"] = std::string(100, 'n') + "\nx"; },
     {"name: must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
      "got \"" +
      std::string(60, 'n') + "\"…"}},
    {"an unknown key with a newline is quoted in the path",
     [](json& j) { j["dur\nation"] = "1m"; },
     {"[\"dur\\nation\"]: unknown key; did you mean \"duration\"? allowed here: $schema, "
      "backend, description, duration, expectations, name, seed, topology, workloads"}},
    {"a long selector is cut",
     [](json& j) { j["workloads"][0]["target"] = std::string(500, 'z'); },
     {"workloads[0].target: \"" + std::string(60, 'z') +
      "\"… names no group or node; use \"all\", a group (validator) or a node id such as "
      "\"validator-0\""}},
    {"set_link from a number",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps", {{{"at", "10s"}, {"action", "set_link"}, {"from", 5}, {"to", "all"}}}}});
     },
     {"workloads[1].steps[0].from: must be \"all\", a group name, a node id or a list of them, "
      "got 5"}},
    {"set_link to a missing group",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps", {{{"at", "10s"}, {"action", "set_link"}, {"from", "all"}, {"to", "miner"}}}}});
     },
     {"workloads[1].steps[0].to: \"miner\" names no group or node; use \"all\", a group "
      "(validator) or a node id such as \"validator-0\""}},
    {"partition side naming a missing node",
     [](json& j) {
       j["workloads"].push_back(
         {{"kind", "steps"},
          {"steps",
           {{{"at", "10s"}, {"action", "partition"}, {"sides", {{"validator-0"}, {"nobody"}}}}}}});
     },
     {"workloads[1].steps[0].sides[1][0]: \"nobody\" names no group or node; use \"all\", a "
      "group (validator) or a node id such as \"validator-0\""}},
    {"log pattern too long",
     [](json& j) {
       j["expectations"].push_back(
         {{"kind", "log_pattern"}, {"pattern", std::string(100'000, 'a')}});
     },
     {"expectations[1].pattern: is 100000 characters long, more than the 1000-character limit "
      "for a pattern; match a shorter distinctive part of the line"}},
    {"log pattern invalid",
     [](json& j) {
       j["expectations"].push_back({{"kind", "log_pattern"}, {"pattern", "panic("}});
     },
     {"expectations[1].pattern: is not a valid regular expression (RE2 syntax: no "
      "backreferences or lookaround): missing ): panic(; fix the pattern"}},
  };
}

} // namespace troupe::test
