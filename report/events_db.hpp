#pragma once
// `troupe run --events-db postgresql://…`: every run recorded in one PostgreSQL database, so
// a campaign of many runs (seeds, backends, days) can be queried together. One transaction
// per run, after report.json is written, into four tables keyed by the run id (the run
// directory's name), created on first use (docs/observability.md, "Events database"):
//
//   troupe_runs            one row per run: scenario, seed, backend, verdict, error, digest,
//                          run_dir, run and wall seconds, recorded_at, the whole report.json
//   troupe_run_events      the run's events in order: faults, heals, refusals, transactions,
//                          job changes (time and planned end in run seconds)
//   troupe_verdicts        each expectation: kind, pass, summary, evidence (jsonb)
//   troupe_node_log_lines  the last log_lines_per_node_max lines of each node's log (after
//                          the node log's own size cap), numbered as in the file
//
// Recording a run id again replaces its rows. Several runs may record at once (schema
// creation takes an advisory lock). Text that is not UTF-8 (node logs) is stored with each
// invalid byte replaced by U+FFFD.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/run_outcome.hpp"

typedef struct pg_conn PGconn;

namespace troupe::report {

struct events_db_options {
  std::string url;
  uint64_t log_lines_per_node_max = 1000;
};

class events_db {
public:
  // -- constructors -----------------------------------------------------------

  /// Connects and makes the tables when they are missing. Throws troupe::user_error in one
  /// sentence (unreachable, credentials refused, a schema of another version).
  explicit events_db(events_db_options o);
  ~events_db();
  events_db(const events_db&) = delete;
  events_db& operator=(const events_db&) = delete;

  // -- recording --------------------------------------------------------------

  /// Records one run (its row, events, verdicts, node log lines) in one transaction.
  /// Throws troupe::user_error when the database fails (nothing of the run is then stored).
  void record(const run_outcome& o, const nlohmann::json& report,
              const std::filesystem::path& run_dir);

  /// The version of the tables this writes.
  static constexpr int schema_version = 1;

private:
  void ensure_schema();
  /// The last log_lines_per_node_max lines of `log` with their numbers (none if it is missing).
  std::deque<std::pair<uint64_t, std::string>> last_lines(const std::filesystem::path& log) const;
  void exec(const std::string& sql);
  void copy(const std::string& table_and_columns, const std::string& rows);
  [[noreturn]] void fail(const std::string& what) const;

  events_db_options o_;
  std::string where_; ///< "events database '<url without password>'"
  PGconn* conn_ = nullptr;
};

} // namespace troupe::report
