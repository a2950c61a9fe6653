// The `metric` expectation against a small Prometheus-API-compatible server started here on
// loopback (passing, failing, unreachable, --prometheus-url), and `log_pattern` over node
// logs (matches found, clean logs, and no logs at all in sim: an honest failure, or a "not
// checked" pass when the scenario accepts that).

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "expectations/metric.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/report_lookup.hpp"

using namespace troupe;
using nlohmann::json;

namespace {

/// Answers /api/v1/query like Prometheus for a few fixed queries.
class fake_prometheus {
public:
  fake_prometheus() {
    server_.Get("/api/v1/query", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      const auto q = req.get_param_value("query");
      auto vec = [](json result) {
        return json{{"status", "success"},
                    {"data", {{"resultType", "vector"}, {"result", result}}}};
      };
      json body;
      if (q == "up")
        body =
          vec({{{"metric", {{"__name__", "up"}, {"instance", "a"}}}, {"value", {1.7e9, "1"}}},
               {{"metric", {{"__name__", "up"}, {"instance", "b"}}}, {"value", {1.7e9, "1"}}}});
      else if (q == "errors_total")
        body = vec({{{"metric", {{"instance", "a"}}}, {"value", {1.7e9, "5"}}},
                    {{"metric", {{"instance", "b"}}}, {"value", {1.7e9, "0"}}}});
      else if (q == "scalar(3)")
        body = {{"status", "success"},
                {"data", {{"resultType", "scalar"}, {"result", {1.7e9, "3"}}}}};
      else if (q == "absent_metric")
        body = vec(json::array());
      else {
        res.status = 400;
        body = {{"status", "error"}, {"errorType", "bad_data"}, {"error", "parse error"}};
      }
      res.set_content(body.dump(), "application/json");
    });
    port = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~fake_prometheus() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }

  int port = 0;
  std::atomic<int> requests{0};

private:
  httplib::Server server_;
  std::thread thread_;
};

/// A small, fast sim scenario with the given expectations.
scenario small_scenario(const json& expectations) {
  json j = {
    {"name", "obs-expectations"},
    {"seed", 3},
    {"duration", "20s"},
    {"topology",
     {{"layout", {{"kind", "mesh"}}},
      {"link", {{"latency", "20ms"}}},
      {"groups",
       {{{"name", "validator"},
         {"count", 4},
         {"node",
          {{"model", "chain"}, {"params", {{"slot", "1s"}, {"active_slot_coeff", 0.2}}}}}}}}}},
    {"backend", "sim"},
    {"workloads", json::array()},
    {"expectations", expectations}};
  return scenario_from_json(j);
}

std::filesystem::path out_dir(const std::string& name) {
  auto dir = std::filesystem::path(troupe::test::build_dir()) / "test-runs" / ("obs-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

/// The sim backend, and at deploy `write(run_dir)`: node logs as a live backend leaves them
/// (a run starts in a clean directory, so they cannot be there before).
class sim_with_node_logs : public backend {
public:
  explicit sim_with_node_logs(std::function<void(const std::filesystem::path&)> write)
    : inner_(registry::global().backend("sim")->make())
    , write_(std::move(write)) {}
  std::string name() const override { return inner_->name(); }
  bool virtual_time() const noexcept override { return inner_->virtual_time(); }
  void configure(caf::actor_system_config& cfg) override { inner_->configure(cfg); }
  deployment deploy(caf::actor_system& sys, const scenario& s, const expanded_topology& topo,
                    const run_env& env) override {
    write_(env.run_dir);
    return inner_->deploy(sys, s, topo, env);
  }
  void drive(caf::actor_system& sys, const std::function<bool()>& done) override {
    inner_->drive(sys, done);
  }
  void teardown() noexcept override { inner_->teardown(); }
  json results() const override { return inner_->results(); }
  json counters_now() const override { return inner_->counters_now(); }

private:
  backend_ptr inner_;
  std::function<void(const std::filesystem::path&)> write_;
};

json run(const json& expectations, const std::string& name, const std::string& prom_url = "",
         const std::function<void(const std::filesystem::path&)>& at_deploy = {}) {
  register_catalog();
  run_request req;
  req.out = out_dir(name);
  req.quiet = true;
  req.prometheus_url = prom_url;
  if (at_deploy)
    req.make_backend = [at_deploy] { return std::make_unique<sim_with_node_logs>(at_deploy); };
  return run_scenario(small_scenario(expectations), req).report;
}

using troupe::test::verdict_of;

// -- metric -------------------------------------------------------------------------------

TEST(metric_expectation, compares_the_answer_with_the_threshold) {
  fake_prometheus prom;
  auto r = run(json::array({
                 {{"kind", "metric"},
                  {"name", "all_up"},
                  {"url", prom.url()},
                  {"query", "up"},
                  {"op", ">="},
                  {"threshold", 1}},
                 {{"kind", "metric"},
                  {"name", "no_errors"},
                  {"url", prom.url()},
                  {"query", "errors_total"},
                  {"op", "<="},
                  {"threshold", 0}},
                 {{"kind", "metric"},
                  {"name", "error_sum"},
                  {"url", prom.url()},
                  {"query", "errors_total"},
                  {"aggregate", "sum"},
                  {"op", "=="},
                  {"threshold", 5}},
                 {{"kind", "metric"},
                  {"name", "scalar"},
                  {"url", prom.url()},
                  {"query", "scalar(3)"},
                  {"op", "<"},
                  {"threshold", 4}},
               }),
               "metric");
  EXPECT_TRUE(verdict_of(r, "all_up")["pass"].get<bool>()) << verdict_of(r, "all_up");
  const auto& bad = verdict_of(r, "no_errors");
  EXPECT_FALSE(bad["pass"].get<bool>());
  EXPECT_EQ(bad["summary"], "1/2 series of `errors_total` are <= 0 (need all)");
  EXPECT_EQ(bad["evidence"]["failing_examples"][0]["labels"]["instance"], "a");
  EXPECT_TRUE(verdict_of(r, "error_sum")["pass"].get<bool>()) << verdict_of(r, "error_sum");
  EXPECT_TRUE(verdict_of(r, "scalar")["pass"].get<bool>()) << verdict_of(r, "scalar");
  EXPECT_EQ(r["verdict"], "fail");
  EXPECT_EQ(prom.requests.load(), 4);
}

TEST(metric_expectation, takes_the_url_from_prometheus_url_and_reports_query_errors) {
  fake_prometheus prom;
  auto r =
    run(json::array({
          {{"kind", "metric"}, {"name", "up"}, {"query", "up"}, {"threshold", 1}},
          {{"kind", "metric"}, {"name", "broken"}, {"query", "up{"}, {"threshold", 1}},
          {{"kind", "metric"}, {"name", "empty"}, {"query", "absent_metric"}, {"threshold", 1}},
          {{"kind", "metric"},
           {"name", "empty_ok"},
           {"query", "absent_metric"},
           {"threshold", 1},
           {"empty", "pass"}},
        }),
        "metric-url", prom.url());
  EXPECT_TRUE(verdict_of(r, "up")["pass"].get<bool>()) << verdict_of(r, "up");
  const auto& broken = verdict_of(r, "broken");
  EXPECT_FALSE(broken["pass"].get<bool>());
  EXPECT_NE(broken["summary"].get<std::string>().find("bad_data: parse error"), std::string::npos)
    << broken["summary"];
  EXPECT_FALSE(verdict_of(r, "empty")["pass"].get<bool>());
  EXPECT_TRUE(verdict_of(r, "empty_ok")["pass"].get<bool>());
}

TEST(metric_expectation, without_a_url_or_a_server_it_fails_saying_why) {
  const int dead_port = [] {
    httplib::Server s;
    return s.bind_to_any_port("127.0.0.1"); // closed again when `s` goes
  }();
  auto r = run(json::array({
                 {{"kind", "metric"}, {"name", "no_url"}, {"query", "up"}, {"threshold", 1}},
                 {{"kind", "metric"},
                  {"name", "down"},
                  {"query", "up"},
                  {"threshold", 1},
                  {"timeout", "2s"},
                  {"url", "http://127.0.0.1:" + std::to_string(dead_port)}},
               }),
               "metric-none");
  EXPECT_FALSE(verdict_of(r, "no_url")["pass"].get<bool>());
  EXPECT_NE(verdict_of(r, "no_url")["summary"].get<std::string>().find("--prometheus-url"),
            std::string::npos);
  EXPECT_FALSE(verdict_of(r, "down")["pass"].get<bool>());
  EXPECT_NE(verdict_of(r, "down")["summary"].get<std::string>().find("did not answer"),
            std::string::npos)
    << verdict_of(r, "down")["summary"];
}

TEST(metric_expectation, bad_parameters_are_reported_with_their_path) {
  json j = {
    {"name", "x"},
    {"duration", "10s"},
    {"topology",
     {{"groups",
       {{{"name", "v"}, {"role", "validator"}, {"count", 2}, {"node", {{"model", "chain"}}}}}}}},
    {"expectations", {{{"kind", "metric"}, {"url", "https://x"}, {"op", "~"}}}}};
  register_catalog();
  try {
    scenario_from_json(j);
    FAIL() << "accepted";
  } catch (const validation_failed& e) {
    std::string all;
    for (const auto& err : e.errors())
      all += err.to_string() + "\n";
    EXPECT_NE(all.find("expectations[0].url"), std::string::npos) << all;
    EXPECT_NE(all.find("expectations[0].query"), std::string::npos) << all;
    EXPECT_NE(all.find("expectations[0].op"), std::string::npos) << all;
    EXPECT_NE(all.find("expectations[0].threshold"), std::string::npos) << all;
  }
}

// -- log_pattern ----------------------------------------------------------------------------

void write_log(const std::filesystem::path& run_dir, const std::string& id,
               const std::string& text) {
  std::filesystem::create_directories(run_dir / "nodes");
  std::ofstream{run_dir / "nodes" / (id + ".log")} << text;
}

TEST(log_pattern_expectation, in_sim_there_are_no_node_logs_and_it_says_so) {
  auto r = run(json::array({
                 {{"kind", "log_pattern"}, {"name", "strict"}, {"pattern", "panic|assert"}},
                 {{"kind", "log_pattern"},
                  {"name", "lenient"},
                  {"pattern", "panic|assert"},
                  {"missing_logs", "skip"}},
               }),
               "logs-sim");
  const auto& strict = verdict_of(r, "strict");
  EXPECT_FALSE(strict["pass"].get<bool>());
  EXPECT_NE(strict["summary"].get<std::string>().find("the simulator writes none"),
            std::string::npos)
    << strict["summary"];
  const auto& lenient = verdict_of(r, "lenient");
  EXPECT_TRUE(lenient["pass"].get<bool>());
  EXPECT_EQ(lenient["summary"].get<std::string>().rfind("not checked", 0), 0u);
  EXPECT_FALSE(lenient["evidence"]["checked"].get<bool>());
  EXPECT_TRUE(r["node_logs"]["nodes"].empty());
}

TEST(log_pattern_expectation, counts_matching_lines_in_node_logs) {
  // Node logs as a live backend leaves them in <run_dir>/nodes/<id>.log.
  auto r = run(json::array({
                 {{"kind", "log_pattern"}, {"name", "no_panic"}, {"pattern", "panic|assert"}},
                 {{"kind", "log_pattern"},
                  {"name", "few_timeouts"},
                  {"pattern", "timeout"},
                  {"max_matches", 2}},
               }),
               "logs-live", "", [](const std::filesystem::path& dir) {
                 write_log(dir, "validator-0", "INFO start\nWARN slow peer\nERROR timeout\n");
                 write_log(dir, "validator-1", "INFO start\npanic: runtime error: index\n");
                 write_log(dir, "validator-2", "info ok\n");
                 write_log(dir, "validator-3", "Assertion `x' failed\nwarning: timeout\n");
               });
  const auto& panic = verdict_of(r, "no_panic");
  EXPECT_FALSE(panic["pass"].get<bool>());
  EXPECT_EQ(panic["evidence"]["matches"], 2);
  EXPECT_EQ(panic["evidence"]["matches_per_node"]["validator-1"], 1);
  EXPECT_EQ(panic["evidence"]["examples"][0]["node"], "validator-1");
  EXPECT_EQ(panic["evidence"]["examples"][0]["line"], 2);
  // The simulator has no agent beside its nodes: the files in the run directory are read.
  EXPECT_EQ(panic["evidence"]["counted_by"], "file");
  EXPECT_EQ(panic["evidence"]["nodes_counted_by_agent"], 0);
  EXPECT_TRUE(verdict_of(r, "few_timeouts")["pass"].get<bool>());
  // Error and warning lines per node land in the report.
  const auto& logs = r["node_logs"]["nodes"];
  EXPECT_EQ(logs["validator-0"]["errors"], 1);
  EXPECT_EQ(logs["validator-0"]["warnings"], 1);
  EXPECT_EQ(logs["validator-1"]["errors"], 1); // "panic" and "error" on one line
  EXPECT_EQ(logs["validator-2"]["errors"], 0);
  EXPECT_EQ(logs["validator-3"]["warnings"], 1);
  EXPECT_EQ(logs["validator-0"]["lines"], 3);
}

TEST(log_pattern_expectation, a_catastrophic_pattern_on_a_large_log_finishes) {
  // `(a+)+$` backtracks exponentially on "aaa...ab" (std::regex: years, or a stack overflow);
  // RE2 matches in one pass over the line.
  auto r = run(json::array({{{"kind", "log_pattern"},
                             {"name", "redos"},
                             {"pattern", "(a+)+$"},
                             {"max_matches", 1},
                             {"missing_logs", "skip"}}}),
               "logs-redos", "", [](const std::filesystem::path& dir) {
                 write_log(dir, "validator-0", std::string(1'000'000, 'a') + "b\nINFO ok\n");
                 write_log(dir, "validator-1", "INFO start\naaaa\n");
               });
  const auto& v = verdict_of(r, "redos");
  EXPECT_TRUE(v["pass"].get<bool>()) << v;
  EXPECT_EQ(v["evidence"]["matches"], 1);
  EXPECT_EQ(v["evidence"]["matches_per_node"]["validator-1"], 1);
  EXPECT_EQ(v["evidence"]["examples"][0]["line"], 2);
}

TEST(log_pattern_expectation, a_bad_regex_is_a_validation_error) {
  json j = {
    {"name", "x"},
    {"duration", "10s"},
    {"topology",
     {{"groups",
       {{{"name", "v"}, {"role", "validator"}, {"count", 2}, {"node", {{"model", "chain"}}}}}}}},
    {"expectations", {{{"kind", "log_pattern"}, {"pattern", "panic("}}}}};
  register_catalog();
  try {
    scenario_from_json(j);
    FAIL() << "accepted";
  } catch (const validation_failed& e) {
    ASSERT_FALSE(e.errors().empty());
    EXPECT_EQ(e.errors()[0].path, "expectations[0].pattern");
  }
}

} // namespace
