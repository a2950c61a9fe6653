#pragma once
// A job campaign with live workers, for the `jobs` workload on live backends: the engine and
// its store behind a real jobs::http_server on 127.0.0.1, pools of command workers that claim
// over that HTTP API (native API for pipelines, the replay-test protocol for replay
// campaigns) on their own threads, and/or outside workers (`troupe jobs work`, real replay
// hosts) that reach the same server. Live path only: it starts threads and processes and reads
// the wall clock, which is why the workload refuses it on virtual time.
//
// Why threads and not actors: a command worker blocks for as long as its command runs and
// an HTTP client blocks on its socket; on CAF's shared threads that would stall every other
// actor of the run. Each worker owns a thread; the workload actor only asks for the counts.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/engine.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "jobs/workers/workers.hpp"

namespace troupe::workloads {

/// One pool of command workers: for one job type of a pipeline, or replay hosts.
struct command_pool {
  std::string type; ///< pipeline: the job type it claims; replay: empty
  std::string command;
  std::string verify_command; ///< pipeline: empty means `command` with {phase} = verify
  int workers = 1;
  jobs::time_ms timeout_ms = 60'000;
};

class live_campaign {
public:
  struct options {
    std::string name;     ///< the workload's name: worker names, log lines
    std::string campaign; ///< "pipeline" | "replay"
    nlohmann::json pipeline;
    int64_t first_key = 1;
    int64_t count = 100;
    std::vector<jobs::replay_slice> slices; ///< replay: the config, read at validation
    jobs::time_ms lease_ms = 0;             ///< replay: a silent host's job is re-queued after this
    std::vector<command_pool> pools;
    bool external_workers = false; ///< outside workers are expected on serve_port
    int serve_port = 0;            ///< 0: any free port
    std::string db_path = ":memory:";
    uint64_t seed = 1;
    jobs::time_ms idle_poll_ms = 50; ///< a command worker with nothing to claim asks again
  };

  /// What one pool did, counted from the server's answers.
  struct pool_counts {
    std::atomic<uint64_t> tasks{0};
    std::atomic<uint64_t> failed{0};    ///< process phase (or replay command) failed
    std::atomic<uint64_t> rejected{0};  ///< verify said reject
    std::atomic<uint64_t> completed{0}; ///< jobs this pool brought to completed / COMPLETE
    std::atomic<uint64_t> lost{0};      ///< reports refused because the lease was lost
  };

  // -- constructors -----------------------------------------------------------

  explicit live_campaign(options o);
  /// Stops and joins everything (shutdown()).
  ~live_campaign();
  live_campaign(const live_campaign&) = delete;
  live_campaign& operator=(const live_campaign&) = delete;

  // -- control ----------------------------------------------------------------

  /// Opens the store, binds the server, feeds the campaign, starts the worker threads.
  /// Throws user_error (port in use, a bad pipeline or replay config).
  void start();
  /// Does not block: tells every worker to stop and kills their running commands.
  void request_stop() noexcept;
  /// Blocks: requests a stop, joins the workers, stops the server (which commits every
  /// change). Idempotent; call it off the actor threads.
  void shutdown();

  // -- queries ----------------------------------------------------------------

  int port() const noexcept { return port_; }
  /// Runs `f(const engine&, const replay_service*)` in the server's engine actor (a message;
  /// also after shutdown(): the actor lives as long as the server).
  template <class F> auto with(F&& f) {
    return server_->call_engine(
      [&](jobs::engine& e) { return f(static_cast<const jobs::engine&>(e), replay_.get()); });
  }
  /// Every job fed and none left to dispatch or in flight.
  bool finished();
  /// Like the simulated campaigns' summary: the engine's (pipeline) or the replay-test
  /// summary (replay), plus "campaign": who ran the jobs and for how long.
  nlohmann::json summary(jobs::time_ms elapsed_ms);

private:
  void start_workers();

  options opts_;
  std::unique_ptr<jobs::store> db_;
  std::unique_ptr<jobs::engine> engine_;
  std::unique_ptr<jobs::replay_service> replay_;
  std::unique_ptr<jobs::http_server> server_;
  std::shared_ptr<jobs::running_commands> running_;
  std::vector<std::unique_ptr<pool_counts>> counts_; ///< one per pool
  std::map<std::string, bool> verifies_;             ///< pipeline type -> has a verify phase
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> worker_errors_{0};
  std::string last_worker_error_;
  std::mutex error_mutex_;
  bool started_ = false;
  bool shut_down_ = false;
  int port_ = 0;
};

} // namespace troupe::workloads
