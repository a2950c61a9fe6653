// report.html: written by every run, self-contained, rendered by a real browser with its
// charts and verdict table; `troupe report DIR` regenerates it; 1,000 nodes become bands.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/report_html.hpp"
#include "tests/support/observability_helpers.hpp"
#include "tests/support/paths.hpp"

namespace troupe::test {
namespace {

using nlohmann::json;

/// One run of the faults example, shared by the tests below (the sim takes < 1 s).
const std::filesystem::path& faults_run() {
  static const std::filesystem::path dir = [] {
    auto d = temp_dir("report-run");
    const std::string cmd = troupe::test::troupe_binary() + " run " + troupe::test::source_dir() +
                            "/scenarios/chain-faults-report.json --quiet --out " + d.string();
    EXPECT_EQ(shell(cmd), 0) << cmd;
    return d;
  }();
  return dir;
}

TEST(report_html, every_run_writes_a_self_contained_page_with_charts_and_verdicts) {
  const auto html = read_text(faults_run() / "report.html");
  ASSERT_FALSE(html.empty());
  // Self-contained: no script, nothing fetched from anywhere.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  for (const char* id : {"chart-heights", "chart-latency", "chart-messages", "chart-drops",
                         "chart-txs", "verdict-table", "node-table"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  // Fault windows are shaded and labelled with their action.
  EXPECT_GT(count(html, "class=\"fault\""), 0u);
  EXPECT_NE(html.find("class=\"fault-label\""), std::string::npos);
  EXPECT_NE(html.find(">kill "), std::string::npos);
  // 30 nodes: one line per node.
  EXPECT_EQ(html.find("class=\"band\""), std::string::npos);
  // Percentiles on the latency chart.
  EXPECT_NE(html.find(">p50 "), std::string::npos);
  EXPECT_NE(html.find(">p99 "), std::string::npos);
}

TEST(report_html, report_json_carries_counter_series_latency_and_node_logs) {
  auto r = json::parse(read_text(faults_run() / "report.json"));
  const auto n = r["series"]["time_s"].size();
  ASSERT_GT(n, 100u);
  for (const char* k : {"messages", "drops", "txs_submitted", "txs_included"})
    EXPECT_EQ(r["series"]["counters"][k].size(), n) << k;
  EXPECT_GT(r["series"]["counters"]["drops"].back().get<uint64_t>(), 0u); // 1% loss
  EXPECT_GT(r["tx_latency"]["count"].get<uint64_t>(), 1000u);
  EXPECT_LE(r["tx_latency"]["p50"].get<double>(), r["tx_latency"]["p99"].get<double>());
  EXPECT_TRUE(r["node_logs"]["nodes"].empty());
  EXPECT_NE(r["node_logs"]["note"].get<std::string>().find("no node logs"), std::string::npos);
  EXPECT_EQ(r["nodes"][0]["group"], "validator");
  // troupe's own log is in the run directory.
  EXPECT_NE(read_text(faults_run() / "troupe.log").find("fault kill"), std::string::npos);
}

TEST(report_html, chromium_renders_the_charts_and_the_verdict_table) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  const std::string url = "file://" + (faults_run() / "report.html").string();
  const auto dom = chromium("--dump-dom " + url);
  ASSERT_NE(dom.find("</html>"), std::string::npos) << dom.substr(0, 200);
  EXPECT_GE(count(dom, "<svg"), 5u);
  EXPECT_GE(count(dom, "<polyline"), 30u); // a line per node at least
  EXPECT_NE(dom.find("id=\"verdict-table\""), std::string::npos);
  EXPECT_GE(count(dom, "<td class=\"result\">PASS</td>"), 4u);
  EXPECT_NE(dom.find("no_panics"), std::string::npos);
  // The screenshot is the artifact people look at.
  const auto shot = artifacts_dir() / "report.png";
  std::filesystem::remove(shot);
  chromium("--screenshot=" + shot.string() + " --window-size=1400,1800 " + url);
  ASSERT_TRUE(std::filesystem::exists(shot));
  EXPECT_GT(std::filesystem::file_size(shot), 20000u); // not a blank page
}

TEST(report_html, troupe_report_regenerates_the_page_from_report_json) {
  auto d = temp_dir("report-regen");
  std::filesystem::copy_file(faults_run() / "report.json", d / "report.json");
  const std::string cmd = troupe::test::troupe_binary() + " report " + d.string() + " >/dev/null";
  ASSERT_EQ(shell(cmd), 0);
  EXPECT_EQ(read_text(d / "report.html"), read_text(faults_run() / "report.html"));
  // A directory without report.json is a one-sentence user error (exit 2).
  auto empty = temp_dir("report-empty");
  EXPECT_EQ(shell(troupe::test::troupe_binary() + " report " + empty.string() + " 2>/dev/null"), 2);
}

/// A synthetic report: `nodes` nodes, 300 samples, one node down for a while, a partition.
json synthetic_report(size_t nodes) {
  json r{{"verdict", "fail"}, {"scenario", "big"}, {"seed", 1},
         {"backend", "sim"},  {"digest", "00"},    {"reproduce", "troupe run big.json --seed 1"},
         {"error", nullptr}};
  r["expectations"] = json::array({json{{"name", "liveness"},
                                        {"kind", "consensus_liveness"},
                                        {"pass", false},
                                        {"summary", "node-7 lags <b>"},
                                        {"evidence", json{{"lagging", {"node-7"}}}}}});
  json t = json::array(), heights = json::object(), ns = json::array();
  for (size_t k = 0; k < 300; ++k)
    t.push_back(static_cast<double>(k));
  for (size_t i = 0; i < nodes; ++i) {
    json h = json::array();
    for (size_t k = 0; k < 300; ++k)
      h.push_back(i == 7 && k > 100 && k < 150 ? -1 : static_cast<int64_t>(k / 3 + i % 3));
    heights["node-" + std::to_string(i)] = h;
    ns.push_back(json{{"id", "node-" + std::to_string(i)}, {"up", true}, {"height", 100}});
  }
  r["nodes"] = ns;
  r["series"] = json{{"time_s", t}, {"heights", heights}};
  r["faults"] = json::array({json{{"action", "partition"},
                                  {"nodes", json::array()},
                                  {"start_s", 100},
                                  {"end_s", 150},
                                  {"detail", ""}}});
  return r;
}

TEST(report_html, a_thousand_nodes_become_min_median_max_bands) {
  const auto html = render_report_html(synthetic_report(1000));
  EXPECT_NE(html.find("class=\"band\""), std::string::npos);
  // Bands, not 1,000 lines: a handful of polylines in the heights chart.
  const auto start = html.find("id=\"chart-heights\"");
  const auto end = html.find("</svg>", start);
  EXPECT_LT(count(html.substr(start, end - start), "<polyline"), 10u);
  EXPECT_NE(html.find("1000 nodes: aggregated"), std::string::npos);
  EXPECT_NE(html.find("<details><summary>1000 nodes"), std::string::npos); // table folded
  EXPECT_LT(html.size(), 2u << 20);
  // Text from the report is escaped.
  EXPECT_NE(html.find("node-7 lags &lt;b&gt;"), std::string::npos);
  // No transactions and no counters: the sections say so instead of drawing empty charts.
  EXPECT_NE(html.find("No transaction was included"), std::string::npos);
}

TEST(report_html, a_thousand_node_page_renders_in_chromium) {
  if (!have_chromium())
    GTEST_SKIP() << "chromium is not installed";
  auto d = temp_dir("report-1000");
  {
    std::ofstream out{d / "report.json"};
    out << synthetic_report(1000).dump();
  }
  write_report_html(d, synthetic_report(1000));
  const auto shot = artifacts_dir() / "report-1000-nodes.png";
  std::filesystem::remove(shot);
  chromium("--screenshot=" + shot.string() + " --window-size=1400,1000 file://" +
           (d / "report.html").string());
  ASSERT_TRUE(std::filesystem::exists(shot));
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);
}

TEST(report_html, a_jobs_section_shows_jobs_by_status_and_phase_latency) {
  auto r = synthetic_report(3);
  r["jobs"] = json{{"series",
                    {{"time_s", {0, 10, 20, 30}},
                     {"by_status",
                      {{"queued", {10, 6, 2, 0}},
                       {"running", {0, 4, 4, 1}},
                       {"done", {0, 0, 4, 9}},
                       {"failed", {0, 0, 0, 1}}}}}},
                   {"phases",
                    {{"queued", {{"count", 10}, {"p50", 4.0}, {"p90", 9.0}, {"p99", 12.0}}},
                     {"running", {{"count", 10}, {"p50", 7.5}, {"p90", 11.0}, {"p99", 14.0}}}}}};
  const auto html = render_report_html(r);
  EXPECT_NE(html.find("id=\"chart-jobs\""), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-job-phases\""), std::string::npos);
  EXPECT_NE(html.find("<title>failed</title>"), std::string::npos);
  // Without a jobs section there is no jobs chart.
  EXPECT_EQ(render_report_html(synthetic_report(3)).find("chart-jobs"), std::string::npos);
}

/// A program_metrics section as the local backend writes it: `nodes` nodes scraped every
/// second for a minute, one counter (node 1 restarts: a gap and a reset) and one gauge.
json with_program_metrics(json r, size_t nodes) {
  json series = json::object();
  for (const char* name :
       {"etcd_server_proposals_committed_total", "etcd_mvcc_db_total_size_in_bytes"}) {
    const bool counter = std::string(name) == "etcd_server_proposals_committed_total";
    json per_node = json::object(), points = json::object();
    for (size_t i = 0; i < nodes; ++i) {
      const std::string id = "node-" + std::to_string(i);
      json pts = json::array();
      for (int t = 0; t < 60; ++t) {
        if (i == 1 && t >= 20 && t < 25)
          pts.push_back(json::array({t, nullptr}));
        else
          pts.push_back(json::array(
            {t, counter ? 100.0 + 5 * t + static_cast<double>(i) : 24576.0 + 4096 * (t / 10)}));
      }
      points[id] = pts;
      json n{{"samples", 55},
             {"missing", 0},
             {"first", counter ? 100 : 24576},
             {"last", counter ? 395 : 45056},
             {"min", counter ? 100 : 24576},
             {"max", counter ? 395 : 45056}};
      if (counter) {
        n["increase"] = 295;
        n["rate_per_s"] = 5.0;
        n["resets"] = 0;
      }
      per_node[id] = n;
    }
    json total{{"nodes", nodes},
               {"nodes_with_samples", nodes},
               {"samples", 55 * nodes},
               {"first", 100.0 * nodes},
               {"last", 395.0 * nodes},
               {"min", 100},
               {"max", 395}};
    if (counter) {
      total["increase"] = 295.0 * nodes;
      total["rate_per_s"] = 5.0 * nodes;
    }
    series[name] = json{{"kind", counter ? "counter" : "gauge"},
                        {"nodes", per_node},
                        {"total", total},
                        {"points", points}};
  }
  r["program_metrics"] = json{
    {"groups",
     {{"node",
       {{"program", "etcd"}, {"path", "/metrics"}, {"port", "client_port"}, {"every_s", 1.0}}}}},
    {"scrapes", {{"ok", 55 * nodes}, {"skipped_down", 5}, {"failed", 0}}},
    {"series", series}};
  return r;
}

TEST(report_html, scraped_program_metrics_get_a_chart_and_a_table_per_series) {
  const auto html = render_report_html(with_program_metrics(synthetic_report(3), 3));
  const auto start = html.find("<section id=\"program-metrics\">");
  ASSERT_NE(start, std::string::npos);
  const auto section = html.substr(start, html.find("</section>", start) - start);
  EXPECT_NE(section.find("id=\"chart-metric-0\""), std::string::npos);
  EXPECT_NE(section.find("id=\"chart-metric-1\""), std::string::npos);
  EXPECT_NE(section.find("etcd_server_proposals_committed_total"), std::string::npos);
  EXPECT_NE(section.find("(counter)"), std::string::npos);
  EXPECT_NE(section.find("(gauge)"), std::string::npos);
  EXPECT_NE(section.find("GET /metrics on port client_port every 1 s"), std::string::npos);
  EXPECT_NE(section.find("5 skipped (node down or restarting)"), std::string::npos);
  // One line per node; node-1's restart is a gap: its counter line is drawn in two pieces.
  const auto chart0 = section.substr(section.find("id=\"chart-metric-0\""));
  const auto svg0 = chart0.substr(0, chart0.find("</svg>"));
  EXPECT_EQ(count(svg0, "<polyline"), 4u);
  EXPECT_EQ(count(svg0, "<title>node-1</title>"), 2u);
  // The table: a row per node, the sum, and the counter's rate.
  EXPECT_NE(section.find("<th>rate /s</th>"), std::string::npos);
  EXPECT_NE(section.find("all nodes (sums; min, max: extremes)"), std::string::npos);
  EXPECT_EQ(count(section, "<td>node-"), 6u);
  // No program_metrics: no section.
  EXPECT_EQ(render_report_html(synthetic_report(3)).find("program-metrics"), std::string::npos);
}

TEST(report_html, program_metrics_of_many_nodes_become_bands) {
  const auto html = render_report_html(with_program_metrics(synthetic_report(100), 100));
  const auto start = html.find("id=\"chart-metric-0\"");
  ASSERT_NE(start, std::string::npos);
  const auto svg = html.substr(start, html.find("</svg>", start) - start);
  EXPECT_NE(svg.find("class=\"band\""), std::string::npos);
  EXPECT_LT(count(svg, "<polyline"), 5u);
  EXPECT_NE(html.find("100 nodes: aggregated into min/median/max."), std::string::npos);
}

TEST(report_html, troupe_report_regenerates_the_program_metrics_section_byte_for_byte) {
  auto d = temp_dir("report-regen-metrics");
  const auto r = with_program_metrics(synthetic_report(3), 3);
  {
    std::ofstream out{d / "report.json"};
    out << r.dump(2) << "\n";
  }
  const auto expected = render_report_html(r);
  ASSERT_NE(expected.find("id=\"chart-metric-1\""), std::string::npos);
  ASSERT_EQ(shell(troupe::test::troupe_binary() + " report " + d.string() + " >/dev/null"), 0);
  EXPECT_EQ(read_text(d / "report.html"), expected);
}

} // namespace
} // namespace troupe::test
