// Clock skew on real programs through libfaketime: litecoind dates the blocks it mines by its
// skewed clock, etcd (a Go binary, which reads the clock without libc) is refused with that
// reason before and during a run, and one scenario's skew step runs in both worlds.

#include <gtest/gtest.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "backends/adapters/bitcoin_rpc.hpp"
#include "backends/agent/clock_skew.hpp"
#include "backends/agent/time_source.hpp"
#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace troupe::backends::testing;
using nlohmann::json;

namespace {

constexpr int64_t hour_ns = 3600'000'000'000;

std::unique_ptr<adapters::bitcoin_rpc> rpc(live_run& run, size_t i) {
  auto a = run.backend.shared_world()->make_adapter(i);
  return std::unique_ptr<adapters::bitcoin_rpc>(dynamic_cast<adapters::bitcoin_rpc*>(a.release()));
}

/// Mines one block on node `i` and returns its header time (seconds since the epoch).
int64_t mine_one(live_run& run, size_t i) {
  auto r = rpc(run, i);
  auto hash = r->produce_block(run.backend.shared_world()->nodes[i].reward_address);
  return r->call("getblock", {hash})["time"].get<int64_t>();
}

std::vector<std::string> actions(const json& list) {
  std::vector<std::string> out;
  for (const auto& f : list)
    out.push_back(f["action"]);
  return out;
}

json skew_scenario(const std::string& backend) {
  auto doc = json::parse(R"({
    "name": "skew-both-worlds", "seed": 3, "duration": "6s",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "validator", "count": 2,
                             "node": {"model": "chain", "program": "litecoin-regtest",
                                      "params": {"slot": "1s", "active_slot_coeff": 0.3}}}]},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "1s", "action": "skew", "nodes": ["validator-1"], "offset": "30m"}
    ]}]
  })");
  doc["backend"] = {{"name", backend}};
  if (backend == "local")
    doc["backend"]["poll_interval"] = "200ms";
  return doc;
}

} // namespace

TEST(clock_skew, binaries_that_read_time_without_libc_are_told_apart) {
  // The Debian litecoind is a script that execs the real binary: that one is judged.
  EXPECT_EQ(agent::libc_time_refusal("/usr/bin/litecoind"), std::nullopt);
  auto etcd = agent::libc_time_refusal("/usr/bin/etcd");
  ASSERT_TRUE(etcd.has_value());
  EXPECT_NE(etcd->find("Go binary"), std::string::npos) << *etcd;
  auto ldconfig = agent::libc_time_refusal("/sbin/ldconfig");
  ASSERT_TRUE(ldconfig.has_value());
  EXPECT_NE(ldconfig->find("statically linked"), std::string::npos) << *ldconfig;
  EXPECT_EQ(agent::faketime_spec(2 * hour_ns, 100), "+7200.000000000 x1.000100000");
  EXPECT_EQ(agent::faketime_spec(-250'000'000, -50), "-0.250000000 x0.999950000");
}

TEST(clock_skew, a_missing_libfaketime_is_one_sentence) {
  ::setenv("TROUPE_FAKETIME_LIB", "/nonexistent/libfaketime.so.1", 1);
  auto why = agent::clock_skew_refusal("/usr/bin/litecoind");
  ::unsetenv("TROUPE_FAKETIME_LIB");
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("install the Debian package faketime"), std::string::npos) << *why;
}

TEST(clock_skew, litecoind_dates_its_blocks_by_its_skewed_clock) {
  auto s =
    one_group("litecoin-regtest", "validator", 2, {{"active_slot_coeff", 0}, {"utxos_per_node", 1}},
              {{"poll_interval", "200ms"}, {"faketime", "always"}});
  live_run run{s, "lt-skew"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  // +1 h: within the 2 h a peer accepts from a block's time, so the nodes stay one chain.
  auto ack = ask<control_ack>(self, run.dep.fabric, skew_atom::value,
                              clock_skew_cmd{"validator-1", hour_ns, 0});
  ASSERT_TRUE(ack.ok) << ack.error;
  auto plain = mine_one(run, 0);
  auto skewed = mine_one(run, 1);
  // Far more slack than any delay between the two calls, far less than the offset.
  EXPECT_NEAR(static_cast<double>(skewed - plain), 3600.0, 300.0)
    << "plain " << plain << ", skewed " << skewed;
  // Back to true time: the next block it mines is dated by the true clock again, only kept
  // after its previous block as consensus requires (median time past), so within the hour.
  ASSERT_TRUE(
    ask<control_ack>(self, run.dep.fabric, skew_atom::value, clock_skew_cmd{"validator-1", 0, 0})
      .ok);
  auto again = mine_one(run, 0);
  EXPECT_LT(again - plain, 1800) << "node 0 was never skewed";
}

TEST(clock_skew, etcd_skew_is_refused_with_the_go_binary_reason) {
  register_catalog();
  auto s = scenario_from_json(json::parse(R"({
    "name": "etcd-skew", "seed": 5, "duration": "4s",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "member", "count": 3, "node": {"program": "etcd"}}]},
    "backend": {"name": "local", "poll_interval": "200ms"},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "1s", "action": "skew", "nodes": ["member-0"], "offset": "10s"}
    ]}]
  })"));
  backends::local::local_backend b;
  auto topo = expand(s);
  fault_request skew{"", "", "skew", {"member-0"}, true, {}};
  auto why = b.refusal(skew, s, topo);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("Go binary"), std::string::npos) << *why;

  run_request req;
  req.quiet = true;
  req.out = temp_run_dir("etcd-skew");
  auto r = run_scenario(s, req);
  ASSERT_TRUE(r.report["error"].is_null()) << r.report["error"];
  EXPECT_TRUE(r.report["faults"].empty()) << r.report["faults"].dump(2);
  ASSERT_EQ(actions(r.report["refusals"]), std::vector<std::string>{"clock_skew"})
    << r.report["refusals"].dump(2);
  EXPECT_EQ(r.report["refusals"][0]["reason"].get<std::string>(), *why);
}

TEST(clock_skew, one_skew_step_runs_in_both_worlds) {
  register_catalog();
  for (std::string backend : {"sim", "local"}) {
    auto s = scenario_from_json(skew_scenario(backend));
    run_request req;
    req.quiet = true;
    req.out = temp_run_dir("skew-both-" + backend);
    auto r = run_scenario(s, req);
    ASSERT_TRUE(r.report["error"].is_null()) << backend << ": " << r.report["error"];
    EXPECT_EQ(actions(r.report["faults"]), std::vector<std::string>{"clock_skew"})
      << backend << ": " << r.report["faults"].dump(2);
    EXPECT_TRUE(r.report["refusals"].empty()) << backend << ": " << r.report["refusals"].dump(2);
  }
}
