#pragma once
// Live workers: command workers (one shell command per task) and remote workers that claim
// and report over the native HTTP API. Live path only: they block and read the wall clock.

#include "jobs/job.hpp"
#include "jobs/workers/shell_template.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace troupe::jobs {

/// What a worker function reports for one task.
struct work_result {
  enum class kind { ok, fail, pending, reject } what = kind::ok;
  std::string result = "null"; ///< JSON text (process phase)
  std::string detail;          ///< error text, or verification detail
};

// -- command workers -----------------------------------------------------------------

/// Replaces {id} {type} {key} {phase} {attempt} {payload} and {payload.FIELD} in `tmpl` by
/// references to environment variables holding their values (see shell_template.hpp), so no
/// payload text is ever read as shell code. Throws user_error for a template that places one
/// where the shell would not read it as data (single quotes, $((...)), here-documents).
shell_command expand_command(const std::string& tmpl, const task& t);
/// Throws user_error as expand_command would, before any task: for a --command at start.
void check_command_template(const std::string& tmpl, const std::string& what);
/// Replaces {FIELD} for every top-level field of the JSON object `fields` (strings as they
/// are, other values as JSON text, null as empty), through the environment like
/// expand_command.
shell_command expand_fields(const std::string& tmpl, const nlohmann::json& fields);
/// The placeholders a replay host's command may use (the fields of a replay job).
void check_replay_command_template(const std::string& tmpl, const std::string& what);

/// The commands running on behalf of one owner, by process group, so that the owner can kill
/// them when it stops (a run that ends, Ctrl-C) instead of waiting for their timeouts.
class running_commands {
public:
  /// Kills every running command's process group and refuses new commands from now on.
  void kill_all() noexcept;
  bool stopped() const noexcept;
  /// Called by run_command: false when stopped (the caller kills the new group at once).
  bool add(int pgid);
  void remove(int pgid);

private:
  mutable std::mutex mutex_;
  std::set<int> groups_;
  bool stopped_ = false;
};

struct command_output {
  int exit_code = -1;
  std::string stdout_text; ///< capped at stdout_bytes_max
};
/// Runs `command.script` with /bin/sh -c in its own process group, with `command.env` added
/// to this process's environment; kills the group after `timeout_ms`, or when `running`
/// (optional) is told to kill_all.
command_output run_command(const shell_command& command, time_ms timeout_ms,
                           size_t stdout_bytes_max = 1 << 20, running_commands* running = nullptr);

/// A worker function for a command template. Process: exit 0 -> ok with
/// {"exit_code", "stdout"} as result (stdout parsed as JSON when it is JSON), else fail.
/// Verify: exit 0 -> pass, 75 (EX_TEMPFAIL) -> pending, else reject. A non-empty
/// `verify_tmpl` runs for the verify phase instead of `tmpl`.
std::function<work_result(const task&)>
command_worker(std::string tmpl, time_ms timeout_ms,
               std::shared_ptr<running_commands> running = nullptr, std::string verify_tmpl = "");

// -- remote workers over HTTP ---------------------------------------------------------------

struct remote_worker_options {
  /// The server, or several orchestrators of one campaign comma-separated ("http://A,http://B"):
  /// a request none answers (or that gets a 5xx) goes to the next.
  std::string url = "http://127.0.0.1:4000";
  std::string worker;  ///< name; must be unique among live workers
  std::string type;    ///< empty: any type
  std::string token;   ///< bearer token (scope worker) when the server requires one
  size_t jobs_max = 0; ///< stop after this many tasks; 0: no limit
  time_ms idle_poll_ms = 500;
  time_ms idle_exit_ms = 0; ///< stop when idle this long; 0: never
  /// Checked between requests; a task that was running when it turned true is not reported
  /// (its lease expires: the work was interrupted, not failed).
  std::function<bool()> should_stop;
  /// Called after each report the server answered: the task, what the worker said, and the
  /// HTTP status (200: taken; 409: the lease was lost meanwhile).
  std::function<void(const task&, const work_result&, int status)> on_reported;
};

/// Claims, runs `work`, reports; heartbeats are the caller's business for long tasks.
/// Returns the number of tasks run. Network errors are retried with backoff (bounded).
size_t run_remote_worker(const remote_worker_options& o,
                         const std::function<work_result(const task&)>& work);

// -- replay hosts ----------------------------------------------------------------------

struct replay_host_options {
  std::string url = "http://127.0.0.1:4000";
  std::string command; ///< placeholders: every field of the job, e.g. {start_block_num}
  std::string token;   ///< bearer token (scope worker) when the server requires one
  time_ms timeout_ms = 3'600'000;
  time_ms idle_poll_ms = 500;
  std::function<bool()> should_stop;
  std::shared_ptr<running_commands> running; ///< optional
  /// Called after each job this host finished: the job id and the status it posted
  /// (COMPLETE or ERROR), or LOST when the claim was fenced off (another host took the job
  /// after this host was silent past the lease) and nothing was posted.
  std::function<void(job_id, const std::string& status)> on_finished;
};

/// Acts as a replay-test host over HTTP: pops a job (GET /job?nextjob, POST STARTED under
/// its ETag), runs the command for it, then posts COMPLETE with `actual_integrity_hash` from
/// the command's stdout (its last non-empty line, or the "integrity_hash" field when stdout
/// is a JSON object) and `last_block_processed` = end_block_num, or ERROR when the command
/// fails. Returns the number of jobs run. Network errors end it with user_error (bounded
/// retries, as run_remote_worker).
size_t run_replay_host(const replay_host_options& o);

/// The integrity hash a replay command printed (see run_replay_host); empty when none.
std::string integrity_hash_of(const std::string& stdout_text);

} // namespace troupe::jobs
