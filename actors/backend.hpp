#pragma once
// A backend provisions the nodes of a scenario on one substrate (the simulator, local
// processes, ...), hands back node handles that speak the node protocol, advances the world,
// and always tears down. The runner knows only this interface.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <nlohmann/json.hpp>

#include "actors/node_types.hpp"
#include "actors/run_trace.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"

namespace troupe {

/// Where and how a run happens (filled by the runner from the scenario and the CLI flags).
struct run_env {
  std::filesystem::path run_dir; ///< run directory; nodes/<id>.log live under it
  std::string scenario_path;     ///< for the reproduce command
  uint64_t seed = 1;
  duration run_duration{};
  bool quiet = false;
  bool write_events = false; ///< sim: events.jsonl in run_dir
  uint64_t events_bytes_max = 64ull << 20;
  /// Set by SIGINT/SIGTERM handlers; backends poll it while deploying and driving.
  const volatile int* interrupted = nullptr;
};

/// A node as the runner, workloads and expectations see it.
struct node_handle {
  std::string id;
  std::string group;
  std::string role;
  caf::actor actor; ///< speaks the node protocol (actors/node_protocol.hpp)
};

struct deployment {
  std::vector<node_handle> nodes; ///< in topology order
  caf::actor fabric;              ///< network-level faults (partition, heal, set_link, skew)
  run_trace_ptr trace;            ///< events beyond the network's, into the digest (sim only)
};

/// One control or fault a workload may ask for, as the backend's capability query sees it
/// (`troupe validate FILE --backend NAME` lists the ones a backend would refuse).
struct fault_request {
  std::string where; ///< where the scenario asks for it, e.g. "workloads[1].steps[2]"
  std::string when;  ///< e.g. "at 30s", "random times" (for the listing)
  /// A control action's name (stop, start, restart, kill, pause, resume, isolate, heal), or
  /// "heal_all", "partition", "set_link", "clog", "skew".
  std::string action;
  std::vector<std::string> nodes; ///< node ids concerned (partition: every side's; set_link:
                                  ///< from and to); empty: every node
  bool symmetric = true;          ///< partition: false = one-way
  link_cmd link;                  ///< set_link: the properties it sets (-1: unchanged)
};

class backend {
public:
  virtual ~backend() = default;

  // -- properties -------------------------------------------------------------

  virtual std::string name() const = 0;
  /// True when run time is virtual (the simulator).
  virtual bool virtual_time() const noexcept { return false; }

  // -- lifecycle --------------------------------------------------------------

  /// Called before the actor system exists (the simulator installs its scheduler here).
  virtual void configure(caf::actor_system_config&) {}

  /// Provisions every node and waits until all are ready. On failure throws
  /// troupe::user_error (one sentence naming the node and the cause) after tearing down
  /// whatever it started.
  virtual deployment deploy(caf::actor_system& sys, const scenario& s,
                            const expanded_topology& topo, const run_env& env) = 0;

  /// Advances the world until `done()` returns true or `env.interrupted` is set: the
  /// simulator runs its kernel, live backends wait on the wall clock.
  virtual void drive(caf::actor_system& sys, const std::function<bool()>& done) = 0;
  /// Why drive() returned before `done()` when no signal stopped it (e.g. the hosts' time-to-
  /// live ran out): one sentence for the report's error; "" otherwise.
  virtual std::string ended_early_because() const { return {}; }

  /// Stops every node and releases every resource; idempotent; never throws.
  virtual void teardown() noexcept = 0;

  // -- capabilities -------------------------------------------------------------

  /// Why this backend cannot do `r` for the scenario's nodes (their programs, the backend's
  /// params), or nothing when it can. Asked before any run (`troupe validate --backend`);
  /// the acknowledgement at run time gives the same answer. A live backend overrides it.
  virtual std::optional<std::string> refusal(const fault_request& r, const scenario& s,
                                             const expanded_topology& topo) const {
    (void) r;
    (void) s;
    (void) topo;
    return std::nullopt;
  }

  // -- results ----------------------------------------------------------------

  /// Backend facts for report.json: e.g. {"digest": "…", "counters": {...}}.
  virtual nlohmann::json results() const { return nlohmann::json::object(); }

  /// Cumulative counters so far, e.g. {"messages": 1200, "drops": 3}: the runner samples
  /// them with the heights for report.json's counter series and the live views. Called from
  /// the runner actor (in sim: on the kernel's thread, between events); must not change
  /// the world. Default: none.
  virtual nlohmann::json counters_now() const { return nlohmann::json::object(); }
};

using backend_ptr = std::unique_ptr<backend>;

} // namespace troupe
