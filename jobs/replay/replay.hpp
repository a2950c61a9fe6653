#pragma once
// The replay-test compatible face: loads that system's slice configs and speaks its
// orchestration protocol (GET/POST /job with ETags, /status, /config, /summary, /healthcheck)
// byte for byte, so existing replay hosts work unchanged. Beyond the original, every change is
// a durable job row in the engine's store, and a claimed job whose host falls silent for
// longer than the lease goes back to the queue (recorded as TIMEOUT in its error history).

#include "jobs/engine.hpp"
#include "jobs/http/http_types.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace troupe::jobs {

/// One entry of a replay-test config file (meta-data/*.json).
struct replay_slice {
  int64_t start_block_id = 0;
  int64_t end_block_id = 0;
  std::string snapshot_path;
  std::string storage_type;
  std::optional<std::string> expected_integrity_hash; ///< null stays null
  std::string leap_version;
};

/// Reads and checks a config file; throws troupe::user_error / validation_failed.
std::vector<replay_slice> load_replay_config(const std::string& path);
std::vector<replay_slice> parse_replay_config(const nlohmann::json& doc);

enum class replay_status : uint8_t {
  WAITING_4_WORKER,
  STARTED,
  LOADING_SNAPSHOT,
  WORKING,
  ERROR,
  TIMEOUT,
  HASH_MISMATCH,
  COMPLETE,
};
std::string_view to_string(replay_status s) noexcept;
std::optional<replay_status> replay_status_from_string(std::string_view s) noexcept;

/// The in-memory view of one replay job (mirrored into its engine row on every change).
struct replay_job {
  job_id id = 0;
  int64_t slice_id = 0; ///< replay_slice_id: position from 1
  replay_slice config;
  replay_status status = replay_status::WAITING_4_WORKER;
  int64_t last_block_processed = 0;
  std::optional<std::string> start_time;
  std::optional<std::string> end_time;
  std::optional<std::string> actual_integrity_hash;
  time_ms lease_expiry_ms = 0; ///< 0: not leased
};

class replay_service {
public:
  struct options {
    time_ms lease_ms = 0;    ///< 0: no lease (the original's behaviour)
    std::string config_path; ///< POST /config writes the file back here; empty: don't
  };

  // -- constructors -----------------------------------------------------------

  replay_service(engine& e, options o);

  /// Creates one job per slice, or resumes the campaign already in the engine's store
  /// (a restart). Throws user_error when the store holds a different campaign.
  void load(const std::vector<replay_slice>& slices, time_ms now);

  // -- protocol ---------------------------------------------------------------

  /// Answers one request of the replay-test protocol.
  http_response handle(const http_request& req, time_ms now);

  // -- maintenance ------------------------------------------------------------

  /// Jobs silent past their lease go back to WAITING_4_WORKER; returns how many.
  size_t expire_leases(time_ms now);
  /// A failed job (ERROR, TIMEOUT, HASH_MISMATCH) waits for a worker again.
  outcome retry(job_id id, time_ms now);

  // -- queries ----------------------------------------------------------------

  /// The original's summary object: total_blocks, blocks_processed, total_jobs,
  /// jobs_succeeded, jobs_failed, failed_jobs[{status, jobid, configid}].
  nlohmann::ordered_json summary() const;
  std::string summary_text() const;
  std::string summary_html() const;
  nlohmann::ordered_json job_dict(const replay_job& j) const;
  std::string etag(const replay_job& j) const;
  const std::vector<replay_job>& jobs() const noexcept { return jobs_; }
  const replay_job* by_id(job_id id) const;
  /// No job waits for a worker or is in progress.
  bool finished() const;

private:
  replay_job* find(job_id id);
  void reconcile(replay_job& j);
  void persist(replay_job& j, time_ms now);
  void write_config_file() const;
  http_response get_job(const http_request& req);
  http_response post_job(const http_request& req, time_ms now);
  http_response get_status(const http_request& req);
  http_response get_config(const http_request& req);
  http_response post_config(const http_request& req, time_ms now);
  http_response get_summary(const http_request& req);

  engine& engine_;
  options opts_;
  std::vector<replay_job> jobs_; ///< position order (slice id - 1)
  std::vector<size_t> index_;    ///< job id -> position + 1 (0: not a replay job)
};

} // namespace troupe::jobs
