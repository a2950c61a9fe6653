#pragma once
// Scrapes live node programs' Prometheus /metrics during a run (a group's `scrape` key) and
// summarises the chosen series for report.json's `program_metrics` section.
//
// One thread, outside CAF: each scraped group has its own period; at a group's tick every
// node of the group that is running gets one HTTP GET (connect and read timeouts: the period,
// clamped to 1..2 s). A node that is down, paused or restarting is skipped and counted,
// a GET that fails or answers non-2xx is counted: neither is an error of the run. Missed
// ticks (a slow node) are dropped, not caught up.
//
// Per series and node: first, last, min, max, samples, and for counters (a name ending in
// _total, a TYPE counter, or a histogram's/summary's _bucket/_count/_sum) the increase over
// the run (counter resets, e.g. after a restart, count from zero, as Prometheus' increase())
// and its rate per second; plus the values over time for a chart, thinned to at most
// `points_max` per node.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/scenario/scrape.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

// -- the text exposition format (Prometheus 0.0.4) ---------------------------------------------

struct metric_sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct exposition {
  std::vector<metric_sample> samples;
  std::map<std::string, std::string> types; ///< family name -> counter | gauge | histogram ...
  size_t bad_lines = 0;                     ///< lines that are neither comments nor samples
};

/// Parses the text format: # HELP / # TYPE / other comments, samples with or without labels
/// (escaped \\, \" and \n in values), values including +Inf, -Inf and NaN, and an optional
/// timestamp. Malformed lines are skipped and counted.
exposition parse_exposition(const std::string& text);

/// The sum of the finite values of the samples that `sel` selects (its name, and each of its
/// labels with that exact value); nullopt when no sample matches.
std::optional<double> select_sum(const exposition& e, const series_selector& sel);

/// True when `name` counts up: it ends in _total, its family's TYPE is counter, or it is the
/// _bucket, _count or _sum of a histogram or summary.
bool is_counter(const exposition& e, const std::string& name);

// -- the scraper -------------------------------------------------------------------------

/// One scraped group: its nodes (world indices), endpoint and series.
struct scrape_target {
  std::string group;
  std::string program;
  std::vector<size_t> nodes;
  std::string path = "/metrics";
  std::string port_name; ///< the program's port that serves `path`
  std::vector<series_selector> series;
  std::chrono::milliseconds every{1000};
};

class metrics_scraper {
public:
  // -- constructors -----------------------------------------------------------

  metrics_scraper(world_ptr w, std::vector<scrape_target> targets, size_t points_max = 1000);
  ~metrics_scraper();
  metrics_scraper(const metrics_scraper&) = delete;
  metrics_scraper& operator=(const metrics_scraper&) = delete;

  // -- lifecycle --------------------------------------------------------------

  /// Starts the thread; times in the report count from here.
  void start();
  /// Stops and joins the thread (waits at most for one GET's timeout); idempotent.
  void stop() noexcept;

  // -- results ----------------------------------------------------------------

  /// report.json's `program_metrics` (docs/observability.md).
  nlohmann::json results() const;

  /// One scrape of node `i` now (tests): the parsed text, or nullopt with `*error` set.
  std::optional<exposition> scrape_once(const scrape_target& t, size_t node,
                                        std::string* error) const;

private:
  struct series_state {
    uint64_t samples = 0;
    double first = 0, last = 0, min = 0, max = 0;
    double first_t = 0, last_t = 0;
    double increase = 0;
    uint64_t resets = 0;
    uint64_t missing = 0; ///< scrapes that answered without this series
    std::vector<std::pair<double, double>> points;
    uint32_t stride = 1; ///< keep every stride-th point (thinning doubles it)
    uint64_t seen = 0;   ///< points offered, for the stride
  };
  struct node_state {
    uint64_t ok = 0, skipped_down = 0, failed = 0;
    std::string last_error;
  };

  void run();
  void scrape_group(size_t t, double now_s);
  void record(series_state& st, double t, double v);

  world_ptr world_;
  std::vector<scrape_target> targets_;
  size_t points_max_;
  std::chrono::steady_clock::time_point origin_{};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  /// series text -> node id -> state; node id -> scrape counts.
  std::map<std::string, std::map<std::string, series_state>> series_;
  std::map<std::string, bool> counter_; ///< series text -> counts up (seen in a scrape)
  std::map<std::string, node_state> nodes_;
};

} // namespace troupe::backends::local
