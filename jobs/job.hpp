#pragma once
// The job model: what one unit of work is, which states it moves through, and the per-type
// policy that bounds its retries. Plain values, no behaviour: the engine owns the transitions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::jobs {

/// Milliseconds on whichever clock drives the engine: wall time live, virtual time in sim.
/// The engine never reads a clock itself; every call that needs "now" receives it.
using time_ms = int64_t;
using job_id = int64_t;

// -- statuses -----------------------------------------------------------------

/// create → process → verify. `waiting` holds a job whose dependencies are not complete yet;
/// `pending_verification` is a processed job whose next verification poll is not due yet.
enum class job_status : uint8_t {
  waiting,
  created,
  processing,
  pending_verification,
  verifying,
  completed,
  failed,
};
inline constexpr int job_status_count = 7;

std::string_view to_string(job_status s) noexcept;
std::optional<job_status> status_from_string(std::string_view s) noexcept;
bool is_terminal(job_status s) noexcept;
bool is_leased(job_status s) noexcept;

/// Which half of the work a claimed task is.
enum class phase : uint8_t { process, verify };
std::string_view to_string(phase p) noexcept;

/// What a verifier says about processed work.
enum class verdict : uint8_t { pass, pending, reject };
std::optional<verdict> verdict_from_string(std::string_view s) noexcept;

// -- policy -------------------------------------------------------------------

/// Per-type limits. Every retry loop in the engine is bounded by one of these.
struct type_policy {
  std::string type;
  int process_attempts_max = 3;
  int verification_attempts_max = 5;
  time_ms verification_poll_ms = 1000; ///< delay before verifying, and between pending polls
  time_ms backoff_base_ms = 100;       ///< first retry delay; doubles per attempt
  time_ms backoff_max_ms = 60'000;
  double backoff_jitter = 0.2; ///< +-fraction of the delay, drawn from the engine's seeded rng
  time_ms lease_ms = 30'000;   ///< a claim not heard from for this long is re-queued
  int concurrency_max = 0;     ///< in-flight tasks of this type; 0 = unbounded
  bool verify = true;          ///< false: processing success completes the job directly
  /// Not dispatched by the engine: an outside protocol (the replay-test face) moves these
  /// jobs itself, and the engine only stores and lists them.
  bool external = false;
};

// -- dependencies --------------------------------------------------------------

/// A rule dependency: the job of `type` with `key` must be completed first. The target may
/// not exist yet (pipeline stages are created as earlier stages finish).
struct key_dependency {
  std::string type;
  int64_t key = 0;
  bool operator==(const key_dependency& o) const { return type == o.type && key == o.key; }
};

// -- the job ------------------------------------------------------------------

struct job {
  job_id id = 0;
  std::string type;
  std::optional<int64_t> key;   ///< e.g. a block number; unique per type when present
  std::string payload = "null"; ///< JSON text, kept as text: the hot path never parses it
  job_status status = job_status::created;
  int process_attempts = 0;
  int verification_attempts = 0;
  std::string lease_owner;
  time_ms lease_expiry_ms = 0;
  time_ms not_before_ms = 0; ///< backoff or verification poll: not dispatched before this
  time_ms created_ms = 0;
  time_ms updated_ms = 0;
  time_ms finished_ms = 0;
  int completions = 0; ///< times the job entered `completed`; 1 unless retried by hand
  /// Fencing token: raised by every claim, so that a report carrying an older one (a worker
  /// paused past its lease while another took over) is refused. Persisted: a restart never
  /// hands out a token twice.
  int64_t fence = 0;
  std::vector<job_id> depends_on;
  std::vector<key_dependency> after;
  std::string result;        ///< JSON text; empty means none yet
  std::string errors = "[]"; ///< JSON array text: every failure, expiry and rejection

  // -- engine bookkeeping (not stored; rebuilt on load) -------------------------
  uint32_t lease_generation = 0; ///< invalidates stale lease-heap entries
  uint32_t timer_generation = 0; ///< invalidates stale timer-heap entries
  int unmet_dependencies = 0;
  uint16_t type_slot = 0; ///< index of the type in the engine
  bool dirty = false;     ///< changed since the last commit
  bool queued = false;    ///< sits in its type's ready queue
};

/// A claimed unit of work handed to a worker.
struct task {
  job_id id = 0;
  std::string type;
  phase which = phase::process;
  int attempt = 0; ///< 1-based attempt of this phase
  std::optional<int64_t> key;
  std::string payload;
  std::string result; ///< the process result, for verify tasks
  time_ms lease_expiry_ms = 0;
  int64_t fence = 0; ///< the job's fencing token for this claim; reports send it back
};

/// How an operation on an existing job went; the HTTP faces map these to status codes.
enum class outcome : uint8_t {
  ok,
  duplicate,   ///< a repeat of an operation that already took effect (idempotent retry)
  not_found,   ///< no such job
  not_owner,   ///< the caller does not hold the lease (expired, or another worker)
  wrong_state, ///< the job is not in a state that allows this
  stale_fence, ///< the caller's fencing token is older than the job's latest claim
};
std::string_view to_string(outcome o) noexcept;

} // namespace troupe::jobs
