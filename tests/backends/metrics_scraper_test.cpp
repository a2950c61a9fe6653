// Scraping node programs' /metrics: the Prometheus text format parser on real etcd text and
// on the awkward cases of the format, series selectors, program `metrics` keys, and a real
// etcd member scraped during a run (the 3-member cluster: run_e2e_test, etcd_test).

#include <cmath>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "actors/scenario/scrape.hpp"
#include "backends/local/metrics_scraper.hpp"
#include "backends/local/program.hpp"
#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends::local;
using namespace troupe::backends::testing;

namespace {

// Lines as etcd 3.4 (Debian etcd-server) writes them: a _total that etcd declares a gauge, a
// histogram, a summary, labelled counters.
const char* etcd_excerpt =
  R"(# HELP etcd_server_proposals_committed_total The total number of consensus proposals committed.
# TYPE etcd_server_proposals_committed_total gauge
etcd_server_proposals_committed_total 4
# HELP etcd_mvcc_db_total_size_in_bytes Total size of the underlying database physically allocated in bytes.
# TYPE etcd_mvcc_db_total_size_in_bytes gauge
etcd_mvcc_db_total_size_in_bytes 24576
# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 5
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 5
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 6
etcd_disk_wal_fsync_duration_seconds_sum 0.0051239
etcd_disk_wal_fsync_duration_seconds_count 6
# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 1.2342e-05
go_gc_duration_seconds{quantile="0.5"} 5.0705e-05
go_gc_duration_seconds{quantile="1"} NaN
go_gc_duration_seconds_sum 6.3047e-05
go_gc_duration_seconds_count 2
# HELP etcd_network_peer_sent_bytes_total The total number of bytes sent to peers.
# TYPE etcd_network_peer_sent_bytes_total counter
etcd_network_peer_sent_bytes_total{To="2b4f2d1e2e0a5f1c"} 120000
etcd_network_peer_sent_bytes_total{To="8e9e05c52164694d"} 80000
grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"} 17
)";

// What the format allows and a careless parser gets wrong.
const char* awkward = "# a free comment, not HELP or TYPE\r\n"
                      "   \n"
                      "# TYPE http_requests counter\n"
                      "http_requests{path=\"/a \\\"quoted\\\" \\\\ back\\nslash\",code=\"200\"} 3 "
                      "1700000000000\n"
                      "http_requests{path=\"/b,c={x}\",code=\"500\",} 2\r\n"
                      "http_requests{code=\"200\", path=\"/d\"} 4\n"
                      "temperature_celsius -3.5e1\n"
                      "up_ratio +Inf\n"
                      "down_ratio -Inf\n"
                      "weird NaN\n"
                      "colon:metric:name 1\n"
                      "broken{path=\"unclosed} 1\n"
                      "novalue\n"
                      "two values 1 2 3\n"
                      "9starts_with_digit 1\n";

double sum_of(const exposition& e, const std::string& selector) {
  auto sel = parse_series_selector(selector);
  EXPECT_TRUE(sel) << selector;
  auto v = select_sum(e, *sel);
  return v ? *v : NAN;
}

} // namespace

TEST(exposition, real_etcd_text_parses_with_types_labels_and_histograms) {
  auto e = parse_exposition(etcd_excerpt);
  EXPECT_EQ(e.bad_lines, 0u);
  EXPECT_EQ(e.samples.size(), 15u);
  EXPECT_EQ(sum_of(e, "etcd_server_proposals_committed_total"), 4);
  EXPECT_EQ(sum_of(e, "etcd_mvcc_db_total_size_in_bytes"), 24576);
  // Without labels: summed over the label sets; with labels: just those.
  EXPECT_EQ(sum_of(e, "etcd_network_peer_sent_bytes_total"), 200000);
  EXPECT_EQ(sum_of(e, "etcd_network_peer_sent_bytes_total{To=\"8e9e05c52164694d\"}"), 80000);
  EXPECT_EQ(sum_of(e, "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"}"), 6);
  EXPECT_EQ(sum_of(e, "grpc_server_handled_total{grpc_method=\"Put\",grpc_code=\"OK\"}"), 17);
  EXPECT_TRUE(std::isnan(sum_of(e, "grpc_server_handled_total{grpc_method=\"Range\"}")));
  EXPECT_TRUE(std::isnan(sum_of(e, "etcd_not_there")));
  // NaN samples are left out of a sum.
  EXPECT_NEAR(sum_of(e, "go_gc_duration_seconds"), 1.2342e-05 + 5.0705e-05, 1e-12);
  // Counters: _total even when etcd says gauge, TYPE counter, a histogram's parts.
  EXPECT_TRUE(is_counter(e, "etcd_server_proposals_committed_total"));
  EXPECT_TRUE(is_counter(e, "etcd_network_peer_sent_bytes_total"));
  EXPECT_TRUE(is_counter(e, "etcd_disk_wal_fsync_duration_seconds_count"));
  EXPECT_TRUE(is_counter(e, "etcd_disk_wal_fsync_duration_seconds_bucket"));
  EXPECT_TRUE(is_counter(e, "go_gc_duration_seconds_sum"));
  EXPECT_FALSE(is_counter(e, "etcd_mvcc_db_total_size_in_bytes"));
  EXPECT_FALSE(is_counter(e, "go_gc_duration_seconds"));
  EXPECT_EQ(e.types.at("etcd_disk_wal_fsync_duration_seconds"), "histogram");
}

TEST(exposition, escaped_quotes_infinities_timestamps_and_bad_lines) {
  auto e = parse_exposition(awkward);
  EXPECT_EQ(e.bad_lines, 4u) << "unclosed quote, no value, extra fields, digit first";
  ASSERT_GE(e.samples.size(), 1u);
  const auto& first = e.samples[0];
  EXPECT_EQ(first.name, "http_requests");
  ASSERT_EQ(first.labels.size(), 2u);
  EXPECT_EQ(first.labels[0].second, "/a \"quoted\" \\ back\nslash");
  EXPECT_EQ(first.value, 3) << "the timestamp is not the value";
  EXPECT_EQ(sum_of(e, "http_requests"), 9);
  EXPECT_EQ(sum_of(e, "http_requests{code=\"200\"}"), 7);
  EXPECT_EQ(sum_of(e, "http_requests{path=\"/b,c={x}\"}"), 2);
  EXPECT_EQ(sum_of(e, "http_requests{path=\"/a \\\"quoted\\\" \\\\ back\\nslash\"}"), 3);
  EXPECT_EQ(sum_of(e, "temperature_celsius"), -35);
  EXPECT_EQ(sum_of(e, "colon:metric:name"), 1);
  bool saw_inf = false, saw_minus_inf = false, saw_nan = false;
  for (auto& s : e.samples) {
    saw_inf = saw_inf || (s.name == "up_ratio" && std::isinf(s.value) && s.value > 0);
    saw_minus_inf = saw_minus_inf || (s.name == "down_ratio" && std::isinf(s.value) && s.value < 0);
    saw_nan = saw_nan || (s.name == "weird" && std::isnan(s.value));
  }
  EXPECT_TRUE(saw_inf && saw_minus_inf && saw_nan);
  // Infinite and NaN values are no number to summarise.
  EXPECT_TRUE(std::isnan(sum_of(e, "up_ratio")));
  EXPECT_TRUE(is_counter(e, "http_requests"));
}

TEST(series_selector, parses_names_and_labels_and_says_what_is_wrong) {
  auto s = parse_series_selector("a_total{x=\"1\", y=\"q\\\"r\"}");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "a_total");
  ASSERT_EQ(s->labels.size(), 2u);
  EXPECT_EQ(s->labels[1].second, "q\"r");
  EXPECT_EQ(s->text(), "a_total{x=\"1\",y=\"q\\\"r\"}");
  EXPECT_EQ(parse_series_selector(s->text()), s);
  std::string why;
  EXPECT_FALSE(parse_series_selector("a{x=1}", &why));
  EXPECT_EQ(why, "the value of label x must be in double quotes");
  EXPECT_FALSE(parse_series_selector("a{x=\"1\",x=\"2\"}", &why));
  EXPECT_EQ(why, "label x is given twice");
  EXPECT_FALSE(parse_series_selector("a b", &why));
  EXPECT_FALSE(parse_series_selector("", &why));
}

TEST(program_metrics, etcd_declares_its_metrics_and_litecoin_none) {
  auto etcd = load_program("etcd");
  ASSERT_TRUE(etcd->metrics);
  EXPECT_EQ(etcd->metrics->port, "client_port");
  EXPECT_EQ(etcd->metrics->path, "/metrics");
  EXPECT_NE(std::find(etcd->metrics->series.begin(), etcd->metrics->series.end(),
                      "etcd_server_proposals_committed_total"),
            etcd->metrics->series.end());
  EXPECT_FALSE(load_program("litecoin-regtest")->metrics);
}

TEST(program_metrics, a_bad_metrics_key_is_reported_with_its_path) {
  std::ifstream in{programs_dir() / "etcd.json"};
  auto doc = nlohmann::json::parse(in);
  doc["metrics"] = {
    {"port", "admin_port"}, {"path", "metrics"}, {"series", {"ok", "{x}"}}, {"every", "1s"}};
  try {
    parse_program(doc, "p.json");
    FAIL();
  } catch (const validation_failed& e) {
    std::string all = e.what();
    for (auto want :
         {"p.json.metrics.port: must name one of the program's ports, got \"admin_port\"",
          "p.json.metrics.path: must start with '/', got \"metrics\"",
          "p.json.metrics.series[1]: \"{x}\" must start with a metric name",
          "p.json.metrics.every: unknown key"})
      EXPECT_NE(all.find(want), std::string::npos) << want << " in " << all;
  }
}

TEST(metrics_scraper, a_real_etcd_member_is_scraped_while_it_takes_writes) {
  auto s = one_group("etcd", "member", 1);
  s.topology.groups[0].scrape =
    scrape_config{std::chrono::milliseconds(200),
                  {"etcd_server_proposals_committed_total", "etcd_mvcc_db_total_size_in_bytes",
                   "etcd_server_has_leader{nope=\"x\"}"}};
  live_run run{s, "scrape-one"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& node = run.dep.nodes[0];
  // Writes are proposals: the counter must grow between the first and the last scrape.
  for (int i = 0; i < 10; ++i) {
    transaction tx{"m-" + std::to_string(i), "user-a", "user-b", 1, 64};
    EXPECT_TRUE(ask<tx_ack>(self, node.actor, submit_tx_atom::value, tx).accepted);
    std::this_thread::sleep_for(100ms);
  }
  auto scraped = [&](const nlohmann::json& r) {
    auto& n = r["series"]["etcd_server_proposals_committed_total"]["nodes"]["member-0"];
    return n["samples"].get<uint64_t>() >= 3 &&
           n["last"].get<double>() - n["first"].get<double>() >= 10;
  };
  EXPECT_TRUE(eventually(10s, [&] { return scraped(run.backend.results()["program_metrics"]); }));
  run.backend.teardown();
  auto r = run.backend.results()["program_metrics"];
  ASSERT_TRUE(r.is_object()) << run.backend.results().dump(2);
  EXPECT_EQ(r["groups"]["member"]["program"], "etcd");
  EXPECT_GT(r["scrapes"]["ok"].get<uint64_t>(), 2u);
  auto& committed = r["series"]["etcd_server_proposals_committed_total"];
  EXPECT_EQ(committed["kind"], "counter");
  auto& n = committed["nodes"]["member-0"];
  EXPECT_GE(n["last"].get<double>() - n["first"].get<double>(), 10) << n.dump();
  EXPECT_GT(n["rate_per_s"].get<double>(), 0);
  EXPECT_EQ(committed["total"]["last"], n["last"]);
  // The chart's points: [run time, value] within the summary's range (null: a gap).
  ASSERT_FALSE(committed["points"]["member-0"].empty());
  for (auto& p : committed["points"]["member-0"])
    if (!p[1].is_null()) {
      EXPECT_GE(p[1].get<double>(), n["min"].get<double>());
      EXPECT_LE(p[1].get<double>(), n["max"].get<double>());
    }
  auto& db = r["series"]["etcd_mvcc_db_total_size_in_bytes"];
  EXPECT_EQ(db["kind"], "gauge");
  EXPECT_FALSE(db["total"].contains("rate_per_s"));
  EXPECT_GT(db["nodes"]["member-0"]["min"].get<double>(), 0);
  // A label set the node does not have: reported as missing, not invented.
  auto& none = r["series"]["etcd_server_has_leader{nope=\"x\"}"];
  EXPECT_EQ(none["nodes"]["member-0"]["samples"], 0);
  EXPECT_GT(none["nodes"]["member-0"]["missing"].get<uint64_t>(), 0u);
  EXPECT_EQ(none["note"], "no scraped node reported this series");
}
