#pragma once
// Simulated workers on virtual time. A campaign is a discrete-event model: `advance(now)`
// applies every worker event due by `now` and returns when it next needs to run. It reads
// no clock, starts no thread and draws every random choice from streams named after
// (seed, worker), so a campaign is a pure function of (inputs, seed) — the property a
// scenario's `jobs` workload needs on the sim backend.

#include "actors/random.hpp"
#include "jobs/engine.hpp"
#include "jobs/replay/replay.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

namespace troupe::jobs {

/// A latency distribution in milliseconds.
/// JSON: {"dist": "constant", "ms": 5} | {"dist": "uniform", "min_ms": 1, "max_ms": 9}
///     | {"dist": "exponential", "mean_ms": 5} | {"dist": "lognormal", "median_ms": 5, "sigma":
///     0.5}
struct latency_dist {
  enum class kind { constant, uniform, exponential, lognormal };
  kind k = kind::constant;
  double a = 1.0; ///< ms, min_ms, mean_ms or median_ms
  double b = 0.0; ///< max_ms or sigma
  time_ms sample(rng& r) const;
  static latency_dist constant_ms(double ms) { return {kind::constant, ms, 0}; }
};

/// One pool of simulated workers for one job type.
struct sim_worker_spec {
  std::string type;
  int workers = 1;
  latency_dist process_latency = latency_dist::constant_ms(10);
  latency_dist verify_latency = latency_dist::constant_ms(1);
  double fail_p = 0.0;           ///< processing reports failure
  double crash_p = 0.0;          ///< worker dies silently mid-task (its lease must expire)
  double verify_pending_p = 0.0; ///< verification says "not yet"
  double verify_reject_p = 0.0;  ///< verification rejects the processed work
};

/// Anything that runs on virtual time: the interface a scenario workload drives.
class campaign {
public:
  virtual ~campaign() = default;
  /// Applies everything due by `now` (ms of campaign time, starting at 0); returns the next
  /// time it must run, or nullopt when there is nothing left to do.
  virtual std::optional<time_ms> advance(time_ms now) = 0;
  virtual bool finished() const = 0;
  virtual nlohmann::json summary() const = 0;
  /// Runs to the end by jumping from event to event (no actor system needed);
  /// `time_ms_max` bounds virtual time. Returns the virtual time reached.
  time_ms run_to_end(time_ms time_ms_max);
};

/// A pipeline campaign: `count` keys from `first_key` enter `pipeline`; workers of each type
/// claim, process and verify through the engine (and its store) like real ones.
class sim_pipeline_campaign : public campaign {
public:
  struct options {
    uint64_t seed = 1;
    std::string pipeline;
    int64_t first_key = 1;
    int64_t count = 100;
    std::vector<sim_worker_spec> workers;
  };

  sim_pipeline_campaign(engine& e, options o);
  std::optional<time_ms> advance(time_ms now) override;
  bool finished() const override;
  nlohmann::json summary() const override;
  uint64_t events() const noexcept { return events_; }

private:
  struct worker {
    size_t spec;
    std::string name;
    int incarnation = 0;
    rng random;
    bool busy = false;
  };
  struct event {
    time_ms at;
    uint64_t seq;
    size_t worker;
    task work;
    int result; ///< 0 ok/pass, 1 fail/pending, 2 reject, 3 crash
    bool operator>(const event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  engine& engine_;
  options opts_;
  bool fed_ = false;
  std::vector<worker> workers_;
  std::priority_queue<event, std::vector<event>, std::greater<event>> queue_;
  uint64_t seq_ = 0;
  uint64_t events_ = 0;
  uint64_t crashes_ = 0;
  time_ms now_ = 0;
};

/// A replay-test campaign: simulated replay hosts speak the replay protocol (the same
/// `replay_service::handle` real hosts reach over HTTP): pop a job with GET + POST STARTED
/// under its ETag, load the snapshot, report the start block's integrity hash with
/// POST /config, work through the range, then POST COMPLETE with the end hash.
class sim_replay_campaign : public campaign {
public:
  struct options {
    uint64_t seed = 1;
    int hosts = 8;
    latency_dist snapshot_load = latency_dist::constant_ms(600'000);
    double blocks_per_second = 2'000; ///< replay speed of a host (mean; +-20 %)
    double error_p = 0.0;             ///< a host reports ERROR instead of COMPLETE
    double crash_p = 0.0;             ///< a host dies silently (the server lease re-queues)
    time_ms poll_ms = 60'000;         ///< an idle host asks again after this long
    time_ms progress_every_ms = 3'600'000;
    time_ms epoch_ms = 1'704'067'200'000; ///< campaign time 0 as wall time (for timestamps)
  };

  sim_replay_campaign(replay_service& service, options o);
  std::optional<time_ms> advance(time_ms now) override;
  bool finished() const override;
  nlohmann::json summary() const override;

  /// The integrity hash a simulated nodeos reports at block `n` (stable, 64 hex digits).
  static std::string integrity_hash(int64_t block);

private:
  enum class step { pop, load_snapshot, working, progress, finish, done };
  struct host {
    std::string name;
    rng random;
    step next = step::pop;
    time_ms wake = 0;
    job_id job = 0;
    int64_t start_block = 0, end_block = 0, at_block = 0;
    double blocks_per_ms = 1;
    time_ms work_start = 0;
    time_ms work_end = 0;
    bool doomed = false; ///< will crash silently once working
    int incarnation = 0;
  };

  http_response call(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& etag);
  /// GET the job, change `fields`, POST it back under the ETag (as job_operations.py does).
  int update(job_id id, const nlohmann::json& fields);
  void run_step(host& h);

  replay_service& service_;
  options opts_;
  std::vector<host> hosts_;
  time_ms now_ = 0;
  uint64_t requests_ = 0;
  uint64_t etag_conflicts_ = 0;
  uint64_t crashes_ = 0;
};

} // namespace troupe::jobs
