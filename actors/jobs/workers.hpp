#pragma once
// Live workers: command workers (one shell command per task) and remote workers that claim
// and report over the native HTTP API. Live path only: they block and read the wall clock.

#include "actors/jobs/job.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

namespace troupe::jobs {

/// What a worker function reports for one task.
struct work_result {
  enum class kind { ok, fail, pending, reject } what = kind::ok;
  std::string result = "null"; ///< JSON text (process phase)
  std::string detail;          ///< error text, or verification detail
};

// -- command workers -----------------------------------------------------------------

/// Replaces {id} {type} {key} {phase} {attempt} {payload} and {payload.FIELD} in `tmpl`;
/// every value is single-quoted for /bin/sh, so payload text cannot inject commands.
std::string expand_command(const std::string& tmpl, const task& t);

struct command_output {
  int exit_code = -1;
  std::string stdout_text; ///< capped at stdout_bytes_max
};
/// Runs `command` with /bin/sh -c; kills it after `timeout_ms`.
command_output run_command(const std::string& command, time_ms timeout_ms,
                           size_t stdout_bytes_max = 1 << 20);

/// A worker function for a command template. Process: exit 0 -> ok with
/// {"exit_code", "stdout"} as result (stdout parsed as JSON when it is JSON), else fail.
/// Verify: exit 0 -> pass, 75 (EX_TEMPFAIL) -> pending, else reject.
std::function<work_result(const task&)> command_worker(std::string tmpl, time_ms timeout_ms);

// -- remote workers over HTTP ---------------------------------------------------------------

struct remote_worker_options {
  std::string url = "http://127.0.0.1:4000";
  std::string worker;  ///< name; must be unique among live workers
  std::string type;    ///< empty: any type
  size_t jobs_max = 0; ///< stop after this many tasks; 0: no limit
  time_ms idle_poll_ms = 500;
  time_ms idle_exit_ms = 0; ///< stop when idle this long; 0: never
  std::function<bool()> should_stop;
};

/// Claims, runs `work`, reports; heartbeats are the caller's business for long tasks.
/// Returns the number of tasks run. Network errors are retried with backoff (bounded).
size_t run_remote_worker(const remote_worker_options& o,
                         const std::function<work_result(const task&)>& work);

} // namespace troupe::jobs
