#pragma once
// The job engine core: a single-threaded state machine over jobs, with an in-memory index
// (ready queues per type, timer and lease heaps, dependency waiters) mirrored into the store.
//
// The core is a plain class, and the actor is jobs/engine_actor: one actor per engine owns
// it, and the `jobs` workload, its simulated workers and the benchmark's actor lines reach it
// by messages. The core stays a class so that the same state machine also runs behind the
// HTTP server's event loop (under one mutex, with group commit; not yet through the actor)
// and in the benchmark's direct loop (the figure the message hop is measured against). It
// never reads a clock, never sleeps, never starts a thread: every call that needs "now" is
// given it, and every random choice (backoff jitter) comes from a stream seeded by the
// engine's seed. Same calls in the same order => same state.

#include "actors/errors.hpp"
#include "actors/random.hpp"
#include "jobs/job.hpp"
#include "jobs/store.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

namespace troupe::jobs {

// -- pipelines -----------------------------------------------------------------

struct pipeline_stage {
  std::string type;
  /// The stage's job for key n waits for the same stage's job for key n-1 (when block n-1
  /// is part of the campaign), e.g. `state_update` of block n waits for block n-1.
  bool after_previous_key = false;
};

/// A chain of job types: when a key's job of stage i completes, its stage i+1 job is created
/// with the same key and payload.
struct pipeline {
  std::string name;
  std::vector<pipeline_stage> stages;
  std::vector<type_policy> policies; ///< one per stage type
};

/// Reads a pipeline definition:
/// {"name": "proving", "stages": [{"type": "snos", "process_attempts_max": 3, ...},
///   ..., {"type": "state_update", "after_previous_key": true}]}
/// Throws troupe::validation_failed listing every problem.
pipeline parse_pipeline(const nlohmann::json& doc);
pipeline load_pipeline_file(const std::string& path);
/// Reads the policy fields of one type (unknown fields are an error).
type_policy parse_policy(const nlohmann::json& doc, std::vector<validation_error>& errors,
                         const std::string& where);

/// What a caller asks to enqueue.
struct new_job {
  std::string type;
  std::optional<int64_t> key;
  std::string payload = "null";
  std::vector<job_id> depends_on;
  std::vector<key_dependency> after;
};

class engine {
public:
  struct options {
    uint64_t seed = 1;
    /// Changed jobs held before an automatic commit. The HTTP face commits after every
    /// group of requests instead; a sim actor commits on every tick.
    size_t commit_batch_max = 4096;
  };

  // -- constructors -----------------------------------------------------------

  /// `s` may be null (no durability: unit tests of the state machine only).
  explicit engine(store* s, options o);
  explicit engine(store* s)
    : engine(s, options{}) {}

  // -- types and pipelines ----------------------------------------------------

  void define_type(type_policy p);
  bool has_type(std::string_view type) const;
  const type_policy& policy(std::string_view type) const;
  std::vector<std::string> type_names() const;
  void add_pipeline(const pipeline& p);
  const std::vector<pipeline>& pipelines() const noexcept { return pipelines_; }

  /// Called with every job the engine changes, after the change, with the time of the
  /// operation (live views use it for phase latencies). Runs on the engine's thread, under
  /// whatever lock guards the engine: keep it short. Empty by default.
  void set_observer(std::function<void(const job&, time_ms now)> f) { observer_ = std::move(f); }

  /// Rebuilds the in-memory index from the store (after a restart). Jobs of a type that is
  /// not defined get a default policy, so an offline `status` can still read them.
  void load(time_ms now);

  /// With a shared store (several engines on one database, store.hpp): opens the store's
  /// round and takes in every job another engine committed since this one's last round, so
  /// that what follows decides on the database's latest state; commit() ends the round.
  /// Call it before the operations of each round (the HTTP server does, per request and
  /// tick). A no-op without a shared store, or in an open round.
  void begin_round(time_ms now);
  /// Whether this engine leads the periodic work (see store::leads); true without a store.
  bool leads() { return !store_ || store_->leads(); }

  // -- producing work ---------------------------------------------------------

  /// Adds a job; a (type, key) that already exists returns the existing id, so re-feeding a
  /// campaign after a restart is harmless. Throws user_error for an unknown type or
  /// dependency.
  job_id enqueue(new_job j, time_ms now);
  /// Adds the first stage of `pipeline` for `key`.
  job_id enqueue_pipeline(std::string_view pipeline, int64_t key, std::string payload, time_ms now);
  /// Adds a job the engine stores but does not dispatch (type policy `external`), with its
  /// fields as given. Used by the replay-test face.
  job_id insert_external(job j, time_ms now);

  // -- worker operations ------------------------------------------------------
  //
  // `fence`, when given, must be the token of the job's latest claim (task::fence): an
  // older one is refused with outcome::stale_fence whatever the job's state, and counted.
  // Without it only the lease owner's name is checked (clients from before fencing).

  std::optional<task> claim(std::string_view type, const std::string& worker, time_ms now);
  /// Claims from any type, in definition order.
  std::optional<task> claim_any(const std::string& worker, time_ms now);
  /// The process phase succeeded.
  outcome complete(job_id id, const std::string& worker, std::string result, time_ms now,
                   std::optional<int64_t> fence = std::nullopt);
  /// The verify phase answered.
  outcome verify(job_id id, const std::string& worker, verdict v, const std::string& detail,
                 time_ms now, std::optional<int64_t> fence = std::nullopt);
  /// The claimed phase failed (retry with backoff while attempts remain, then failed).
  outcome fail(job_id id, const std::string& worker, const std::string& error, time_ms now,
               std::optional<int64_t> fence = std::nullopt);
  outcome heartbeat(job_id id, const std::string& worker, time_ms now,
                    std::optional<int64_t> fence = std::nullopt);
  /// Reports refused since this engine started: a stale fencing token, or a worker that does
  /// not hold the lease. Shown in summary() as "refused".
  uint64_t refused_stale_fence() const noexcept { return refused_stale_fence_; }
  uint64_t refused_not_owner() const noexcept { return refused_not_owner_; }
  /// Re-queues every job whose lease expired by `now`; returns how many.
  size_t expire_leases(time_ms now);
  /// Moves every job whose backoff or poll delay ended by `now` to its ready queue (claims do
  /// this too); afterwards next_due() is later than `now`.
  void promote(time_ms now) { promote_timers(now); }
  /// Manual retry of a failed job: attempts start again.
  outcome retry(job_id id, time_ms now);

  // -- external access (replay face) ------------------------------------------

  job* find_mutable(job_id id);
  /// Records that `j` (found with find_mutable) changed; `new_status` keeps counts right.
  void changed(job& j, job_status new_status, time_ms now);

  // -- queries ----------------------------------------------------------------

  const job* find(job_id id) const;
  std::optional<job_id> find_key(std::string_view type, int64_t key) const;
  /// Jobs in id order, filtered; at most `limit`, starting after `after_id`.
  std::vector<const job*> list(std::optional<job_status> status, std::string_view type = {},
                               size_t limit = 100, job_id after_id = 0) const;
  size_t size() const noexcept { return jobs_.size(); }
  size_t count(job_status s) const noexcept { return counts_[static_cast<int>(s)]; }
  /// Nothing left to dispatch or in flight (waiting jobs blocked behind a failure remain).
  bool quiescent() const noexcept;
  /// The earliest time something becomes due (a backoff, a poll, a lease expiry).
  std::optional<time_ms> next_due() const;
  nlohmann::json summary() const;
  nlohmann::json to_json(const job& j) const;
  /// A 64-bit digest of every job's state, for determinism checks.
  uint64_t digest() const;

  // -- durability -------------------------------------------------------------

  /// Writes every changed job in one transaction.
  void commit();
  /// Hands over copies of every changed job and forgets they changed: for a committer that
  /// writes them with store::write outside the caller's lock (group commit).
  std::vector<job> take_dirty();
  size_t dirty_count() const noexcept { return dirty_.size(); }
  store* storage() const noexcept { return store_; }

private:
  struct type_state {
    type_policy policy;
    std::deque<job_id> ready;
    int in_flight = 0;
  };
  struct timer_entry {
    time_ms due;
    job_id id;
    uint32_t generation;
    bool operator>(const timer_entry& o) const { return due != o.due ? due > o.due : id > o.id; }
  };
  using timer_heap =
    std::priority_queue<timer_entry, std::vector<timer_entry>, std::greater<timer_entry>>;
  struct key_hash {
    size_t operator()(const std::pair<uint16_t, int64_t>& k) const noexcept {
      return std::hash<int64_t>{}(k.second * 31 + k.first);
    }
  };

  job& at(job_id id) { return jobs_[static_cast<size_t>(id - 1)]; }
  size_t slot_of(std::string_view type) const;
  void mark(job& j, time_ms now);
  void set_status(job& j, job_status s);
  void make_ready(job& j, time_ms now);
  void schedule(job& j, time_ms due);
  void promote_timers(time_ms now);
  void lease(job& j, const std::string& worker, time_ms now);
  void release(job& j);
  time_ms backoff(const type_policy& p, int attempt);
  void add_error(job& j, const std::string& what, time_ms now);
  void resolve_dependencies(job& j);
  void finish(job& j, time_ms now);
  void fail_for_good(job& j, time_ms now);
  void after_operation();
  std::optional<task> claim_slot(size_t slot, const std::string& worker, time_ms now);
  /// Appends a stored row as a job (filling a gap in ids as load does), typed and counted.
  void append_row(job r);
  /// Gives a stored job the type slot of its type (defined with a default policy if new).
  void adopt_type(job& j);
  /// Takes in rows another engine committed (begin_round).
  void absorb(std::vector<job> rows, time_ms now);
  /// Puts a job that another engine changed back into the index by its new status.
  void reindex(job& j, bool is_new, job_status before, time_ms now);
  /// Another engine completed `j`: its waiters count one dependency fewer (their own rows
  /// say what that engine made of them).
  void settle_waiters(const job& j);
  /// not_found, stale_fence or nullopt (go on); counts a stale token.
  std::optional<outcome> check_fence(job_id id, std::optional<int64_t> fence);
  outcome counted(outcome o);

  store* store_;
  options opts_;
  rng rng_;
  std::vector<job> jobs_; ///< index = id - 1: ids are dense and never reused
  std::vector<type_state> types_;
  std::map<std::string, size_t, std::less<>> type_index_;
  std::vector<pipeline> pipelines_;
  std::unordered_map<std::string, std::pair<size_t, size_t>> stage_of_; ///< type -> (p, s)
  std::unordered_map<std::pair<uint16_t, int64_t>, job_id, key_hash> by_key_;
  std::unordered_map<job_id, std::vector<job_id>> waiters_;
  std::unordered_map<std::pair<uint16_t, int64_t>, std::vector<job_id>, key_hash> key_waiters_;
  timer_heap timers_;
  timer_heap leases_;
  std::vector<job_id> dirty_;
  std::function<void(const job&, time_ms)> observer_;
  size_t counts_[job_status_count] = {};
  uint64_t refused_stale_fence_ = 0;
  uint64_t refused_not_owner_ = 0;
};

} // namespace troupe::jobs
