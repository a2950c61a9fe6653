// The views of `troupe jobs serve` while a campaign runs: its Prometheus metrics scraped with
// a real HTTP client and parsed, and its dashboard loaded in headless Chromium before and
// after real workers (`troupe jobs work`, real shell commands) drain the queue.

#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>

#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"

namespace troupe::test {
namespace {

using nlohmann::json;

/// Prometheus text format -> {"name{labels}": value}; comments skipped.
std::map<std::string, double> scrape(int port) {
  std::map<std::string, double> out;
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(1, 0);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200)
    return out;
  std::istringstream in{res->body};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto sp = line.rfind(' ');
    if (sp != std::string::npos)
      out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double value(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

/// Polls the metrics until `key` reads `want` (the server samples once per second).
std::map<std::string, double> await_metric(int port, const std::string& key, double want) {
  std::map<std::string, double> m;
  for (int i = 0; i < 100; ++i) {
    m = scrape(port);
    if (value(m, key) == want)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return m;
}

TEST(jobs_views, metrics_and_dashboard_follow_a_campaign_drained_by_real_workers) {
  auto dir = temp_dir("jobs-views");
  std::ofstream(dir / "pipeline.json")
    << R"({"name": "proving", "stages": [{"type": "snos", "verification_poll_ms": 20},
                                          {"type": "proving", "verification_poll_ms": 20}]})";
  const int api = free_port(), prom = free_port(), dash = free_port();
  child serve{{troupe::test::troupe_binary(), "jobs", "serve", "--db", (dir / "jobs.db").string(),
               "--pipeline", (dir / "pipeline.json").string(), "--port", std::to_string(api),
               "--metrics-port", std::to_string(prom), "--serve", std::to_string(dash)},
              dir / "serve.out"};
  httplib::Client cli{"127.0.0.1", api};
  cli.set_connection_timeout(1, 0);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    auto r = cli.Get("/v1/summary");
    up = r && r->status == 200;
    if (!up)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << read_text(dir / "serve.out");
  constexpr int blocks = 30;
  for (int key = 1; key <= blocks; ++key) {
    auto r = cli.Post("/v1/pipelines/proving/jobs", json{{"key", key}}.dump(), "application/json");
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
  }

  // -- before the workers: 30 snos jobs waiting, on /metrics and on the page -----------
  auto m1 = await_metric(prom, "troupe_jobs{status=\"created\",type=\"snos\"}", blocks);
  EXPECT_EQ(value(m1, "troupe_jobs{status=\"created\",type=\"snos\"}"), blocks);
  const std::string url = "http://127.0.0.1:" + std::to_string(dash) + "/";
  std::string dom1;
  if (have_chromium()) {
    dom1 = chromium("--virtual-time-budget=2500 --dump-dom " + url);
    ASSERT_NE(dom1.find("id=\"chart-status\""), std::string::npos) << dom1.substr(0, 300);
    EXPECT_NE(dom1.find("data-refreshes="), std::string::npos); // the script ran
    EXPECT_EQ(element_text(dom1, "done"), "0 / 30");
  }

  // -- a real worker drains the queue: 30 blocks x 2 stages x (process, verify) --------
  child work{{troupe::test::troupe_binary(), "jobs", "work", "--url",
              "http://127.0.0.1:" + std::to_string(api), "--command", "echo {type}-{key}",
              "--max-jobs", std::to_string(blocks * 4)},
             dir / "work.out"};
  ASSERT_EQ(work.wait(std::chrono::seconds(120)), 0) << read_text(dir / "work.out");
  auto m2 = await_metric(prom, "troupe_jobs{status=\"completed\",type=\"proving\"}", blocks);
  EXPECT_EQ(value(m2, "troupe_jobs{status=\"completed\",type=\"snos\"}"), blocks);
  EXPECT_EQ(value(m2, "troupe_jobs{status=\"completed\",type=\"proving\"}"), blocks);
  EXPECT_EQ(value(m2, "troupe_jobs{status=\"created\",type=\"snos\"}"), 0);
  // The server counted what it answered, by route template and code.
  EXPECT_EQ(value(m2, "troupe_http_requests_total{code=\"201\",route=\"/v1/pipelines/{name}/jobs\","
                      "server=\"jobs\"}"),
            blocks);
  EXPECT_GE(
    value(m2, "troupe_http_requests_total{code=\"200\",route=\"/v1/claim\",server=\"jobs\"}"),
    blocks * 4);
  EXPECT_EQ(value(m2, "troupe_http_requests_total{code=\"200\",route=\"/v1/jobs/{id}/complete\","
                      "server=\"jobs\"}"),
            blocks * 2);
  // Every job left each status it went through once: queued, processing, waiting for and
  // in verification.
  for (const char* type : {"snos", "proving"})
    for (const char* phase : {"created", "processing", "pending_verification", "verifying"})
      EXPECT_EQ(value(m2, std::string("troupe_job_phase_seconds_count{phase=\"") + phase +
                            "\",type=\"" + type + "\"}"),
                blocks)
        << type << " " << phase;

  if (have_chromium()) {
    auto dom2 = chromium("--virtual-time-budget=2500 --dump-dom " + url);
    EXPECT_EQ(element_text(dom2, "done"), "60 / 60") << "the dashboard did not follow the queue";
    EXPECT_NE(dom2.find("<polyline"), std::string::npos); // jobs by status over time
    EXPECT_NE(dom2.find("<td>completed</td><td>60</td>"), std::string::npos);
    const auto shot = artifacts_dir() / "jobs-dashboard.png";
    chromium("--virtual-time-budget=2000 --screenshot=" + shot.string() +
             " --window-size=900,1000 " + url);
    EXPECT_TRUE(std::filesystem::exists(shot));
    auto m3 = scrape(prom);
    EXPECT_GE(value(m3, "troupe_http_requests_total{code=\"200\",route=\"/api/status\","
                        "server=\"jobs-dashboard\"}"),
              1);
  }

  // -- a busy port for a view is one sentence and exit 2 ------------------------------
  child busy{{troupe::test::troupe_binary(), "jobs", "serve", "--db", (dir / "other.db").string(),
              "--port", "0", "--metrics-port", std::to_string(prom)},
             dir / "busy.out"};
  EXPECT_EQ(busy.wait(std::chrono::seconds(30)), 2);
  EXPECT_NE(read_text(dir / "busy.out").find("--metrics-port " + std::to_string(prom)),
            std::string::npos)
    << read_text(dir / "busy.out");

  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait(std::chrono::seconds(30)), 0) << read_text(dir / "serve.out");
}

} // namespace
} // namespace troupe::test
