#pragma once
// Counting log patterns beside the nodes (feature `log_counts`, docs/agent-protocol.md "Log
// counts"): the orchestrator names the patterns of its `log_pattern` expectations per node;
// the agent reads each node's log incrementally (only the new bytes, across rotation:
// log_follower), cuts it into lines and matches them with the code `log_pattern` uses on a
// file (actors/log_scan.hpp: log_line_splitter, log_matches), and sends a `log_counts` event
// when a count changed; a `log_counts` request reads up to now and answers with every count.
// So the logs stay on the host and only counts and a few example lines cross the stream.
//
// Threads: one thread reads every counted log every interval; count, report and clear may be
// called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/log_scan.hpp"
#include "backends/agent/log_follower.hpp"

namespace troupe::backends::agent {

/// One pattern as the orchestrator names it.
struct log_pattern_spec {
  std::string pattern;
  bool ignore_case = true;
  bool operator==(const log_pattern_spec& o) const {
    return pattern == o.pattern && ignore_case == o.ignore_case;
  }
};

/// Patterns counted per node at most (each one reads the log once more).
inline constexpr size_t log_patterns_max = 32;

/// One pattern counted in one node's log, from its oldest kept byte on.
class log_pattern_count {
public:
  /// Throws std::invalid_argument with one phrase when the pattern does not compile.
  log_pattern_count(log_pattern_spec spec, const std::filesystem::path& log);

  /// Reads what was written since the last scan.
  void scan();
  /// Since the last report: true when the count or the examples changed.
  bool changed() const noexcept;
  /// Since the last report: true when there are new examples.
  bool examples_changed() const noexcept;
  /// Its fields for a reply or an event (examples: when `with_examples`); marks it reported.
  nlohmann::json report(bool with_examples);

  const log_pattern_spec& spec() const noexcept { return spec_; }
  /// The count so far as the file scan gives it (pending: a last line without its newline).
  log_scan_result result() const;

private:
  log_pattern_spec spec_;
  log_follower follow_;
  log_matches matches_;
  log_line_splitter split_;
  uint64_t reported_matches_ = 0;
  size_t reported_examples_ = 0;
  bool reported_ = false;
};

/// The log patterns of every node of one agent, read on a thread of its own.
class log_counter {
public:
  /// `send`: one `log_counts` event's fields (slot, id, patterns).
  using send_fn = std::function<void(const nlohmann::json& fields)>;

  explicit log_counter(send_fn send);
  /// stop().
  ~log_counter();
  log_counter(const log_counter&) = delete;
  log_counter& operator=(const log_counter&) = delete;

  /// Counts `specs` in node `slot`'s log (those not counted yet; the first read at once, from
  /// the oldest rotated file on). Throws std::invalid_argument naming a bad pattern, or the
  /// limit of log_patterns_max.
  void count(size_t slot, const std::string& id, const std::filesystem::path& log,
             const std::vector<log_pattern_spec>& specs);
  /// Reads node `slot`'s log up to now and returns {slot, id, patterns: [...]} for `specs`
  /// (every pattern of the slot when empty; each must be counted: else invalid_argument).
  nlohmann::json report(size_t slot, const std::vector<log_pattern_spec>& specs);
  /// How often the thread reads the logs (at least 10 ms).
  void set_interval(std::chrono::milliseconds every);
  /// Forgets every count (the orchestrator went away).
  void clear();
  /// Ends the thread (waits for the scan under way). Idempotent.
  void stop() noexcept;

private:
  struct node {
    std::string id;
    std::filesystem::path log;
    std::vector<std::unique_ptr<log_pattern_count>> patterns;
  };
  void loop();
  /// Scans every node once; the events of the counts that changed.
  std::vector<nlohmann::json> scan_all_locked();

  send_fn send_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<size_t, node> nodes_;
  std::chrono::milliseconds interval_{1000};
  bool stopping_ = false;
  std::thread thread_;
};

/// A `log_counts` reply's pattern entry as the file scan's result (the orchestrator's side).
log_scan_result log_scan_from_json(const nlohmann::json& j);

} // namespace troupe::backends::agent
