// The views of a run in progress: Prometheus metrics scraped with a real HTTP client, the
// dashboard loaded in headless Chromium showing values that change, and the progress line
// on a terminal. A simulated run takes < 1 s, so these runs are paced (--pace) against the
// wall clock; pacing never changes what the simulation computes (same digest).

#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "actors/live_snapshot.hpp"
#include "report/progress_line.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test {
namespace {

using nlohmann::json;

/// Prometheus text format -> {"name{labels}": value}; comments skipped.
std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    auto sp = line.rfind(' ');
    if (sp == std::string::npos)
      continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

double metric(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

json status(int port) {
  httplib::Client cli{"127.0.0.1", port};
  cli.set_connection_timeout(1, 0);
  auto res = cli.Get("/api/status");
  if (!res || res->status != 200)
    return json();
  return json::parse(res->body);
}

TEST(live_views, metrics_and_dashboard_follow_a_paced_run) {
  const int metrics_port = free_port(), dash_port = free_port();
  auto dir = temp_dir("live");
  // 240 simulated seconds at 6x: about 40 s of wall time to look at, so that the servers are
  // still up after three Chromium loads on a loaded machine.
  child run{{troupe::test::troupe_binary(), "run",
             troupe::test::source_dir() + "/scenarios/chain-faults-report.json", "--duration",
             "240s", "--pace", "6", "--quiet", "--out", (dir / "run").string(), "--metrics-port",
             std::to_string(metrics_port), "--serve", std::to_string(dash_port)},
            dir / "troupe.out"};
  // Wait until the run is under way.
  json s;
  ASSERT_TRUE(wait_until(
    [&] {
      s = status(dash_port);
      return s.is_object() && s["run_s"].get<double>() > 1;
    },
    std::chrono::seconds(30), std::chrono::milliseconds(100)))
    << read_text(dir / "troupe.out");
  EXPECT_EQ(s["scenario"], "chain-faults-report");
  EXPECT_EQ(s["nodes_total"], 30);

  // -- metrics, scraped and parsed --------------------------------------------
  httplib::Client prom{"127.0.0.1", metrics_port};
  auto r1 = prom.Get("/metrics");
  ASSERT_TRUE(r1 && r1->status == 200);
  auto m1 = parse_metrics(r1->body);
  EXPECT_EQ(metric(m1, "troupe_nodes{state=\"total\"}"), 30);
  EXPECT_GT(metric(m1, "troupe_run_seconds"), 0);
  EXPECT_EQ(metric(m1, "troupe_run_duration_seconds"), 240);
  EXPECT_GT(metric(m1, "troupe_sim_messages_total"), 0);

  // -- the dashboard in Chromium, twice: the values move --------------------------
  if (have_chromium()) {
    const std::string url = "http://127.0.0.1:" + std::to_string(dash_port) + "/";
    // The virtual time budget lets the page's script fetch /api/status and redraw.
    auto dom1 = chromium("--virtual-time-budget=2500 --dump-dom " + url);
    // The second load must see a later run time: wait until the run has moved on.
    const auto shown = status(dash_port);
    if (shown.is_object())
      wait_until(
        [&] {
          auto now = status(dash_port);
          return !now.is_object() || now["phase"] == "done" ||
                 now["run_s"].get<double>() >= shown["run_s"].get<double>() + 1;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(100));
    auto dom2 = chromium("--virtual-time-budget=2500 --dump-dom " + url);
    ASSERT_NE(dom1.find("id=\"chart-height\""), std::string::npos) << dom1.substr(0, 300);
    EXPECT_NE(dom1.find("data-refreshes="), std::string::npos); // the script ran
    EXPECT_NE(dom1.find("<polyline"), std::string::npos);       // and drew the chart
    const auto t1 = element_text(dom1, "run-time"), t2 = element_text(dom2, "run-time");
    EXPECT_FALSE(t1.empty());
    EXPECT_NE(t1, t2) << "the dashboard did not change between loads";
    const auto shot = artifacts_dir() / "dashboard.png";
    chromium("--virtual-time-budget=2000 --screenshot=" + shot.string() +
             " --window-size=900,800 " + url);
    EXPECT_TRUE(std::filesystem::exists(shot));
  }

  // -- later: metrics moved on; the dashboard's requests were counted ------------
  auto r2 = prom.Get("/metrics");
  ASSERT_TRUE(r2 && r2->status == 200);
  auto m2 = parse_metrics(r2->body);
  EXPECT_GT(metric(m2, "troupe_run_seconds"), metric(m1, "troupe_run_seconds"));
  EXPECT_GE(metric(m2, "troupe_sim_messages_total"), metric(m1, "troupe_sim_messages_total"));
  EXPECT_GE(metric(m2, "troupe_http_requests_total{code=\"200\",route=\"/api/status\","
                       "server=\"dashboard\"}"),
            1);

  // A shortened run may miss its expectations (exit 1); it must end and report.
  const int code = run.wait(std::chrono::seconds(120));
  ASSERT_TRUE(code == 0 || code == 1) << code << read_text(dir / "troupe.out");
  // Pacing is outside the simulated world: the digest is that of an unpaced run.
  auto paced = json::parse(read_text(dir / "run" / "report.json"));
  shell(troupe::test::troupe_binary() + " run " + troupe::test::source_dir() +
        "/scenarios/chain-faults-report.json --duration 240s --quiet --out " +
        (dir / "fast").string());
  auto fast = json::parse(read_text(dir / "fast" / "report.json"));
  EXPECT_EQ(paced["digest"], fast["digest"]);
  EXPECT_EQ(paced["series"], fast["series"]);
}

TEST(live_views, the_progress_line_shows_on_a_terminal_only) {
  auto dir = temp_dir("progress");
  const std::string run = troupe::test::troupe_binary() + " run " + troupe::test::source_dir() +
                          "/scenarios/chain-sim.json --duration 60s --pace 60 --out ";
  // `script` gives the run a terminal.
  // A shortened run may miss its expectations (exit 1): only the output matters here.
  shell("script -qec '" + run + (dir / "tty").string() + "' /dev/null > " +
        (dir / "tty.out").string());
  const auto tty = read_text(dir / "tty.out");
  EXPECT_NE(tty.find("nodes 30/30"), std::string::npos) << tty;
  EXPECT_NE(tty.find("\r"), std::string::npos);
  EXPECT_NE(tty.find("verdict: "), std::string::npos);
  // Piped: no progress line, only the summary.
  shell(run + (dir / "pipe").string() + " > " + (dir / "pipe.out").string());
  const auto piped = read_text(dir / "pipe.out");
  EXPECT_NE(piped.find("verdict: "), std::string::npos);
  EXPECT_EQ(piped.find("nodes 30/30"), std::string::npos);
  EXPECT_EQ(piped.find("\r"), std::string::npos);
}

TEST(live_views, the_progress_line_fits_one_terminal_line) {
  live_snapshot s;
  s.run_s = 12.5;
  s.duration_s = 600;
  s.nodes_total = 30;
  s.nodes_up = 29;
  s.height_min = 3;
  s.height_max = 5;
  s.txs_submitted = 120;
  s.txs_included = 80;
  s.active_faults = {"partition " + std::string(200, 'x'), "kill validator-3"};
  auto line = progress_line(s);
  EXPECT_NE(line.find("nodes 29/30"), std::string::npos);
  EXPECT_NE(line.find("txs 80/120"), std::string::npos);
  EXPECT_LE(line.size(), 118u);
}

} // namespace
} // namespace troupe::test
