#pragma once
// The `sim` backend: builds the simulated world (sim::world on the deterministic kernel) from
// the topology, serves the node protocol through one small CAF proxy actor per node (called
// on the kernel's thread, so no locking and no nondeterminism), and drives virtual time.

#include <memory>
#include <vector>

#include "actors/backend.hpp"
#include "actors/registry.hpp"
#include "sim/node_model.hpp"
#include "sim/trace.hpp"

namespace troupe::backends {

class sim_backend final : public backend {
public:
  // -- constructors -----------------------------------------------------------

  sim_backend() = default;
  /// Records the trace window `req` asks for; the run's world_trace lands in `*out` at
  /// teardown (for --check-determinism).
  sim_backend(sim::trace_request req, std::shared_ptr<sim::world_trace> out)
    : trace_request_(req)
    , trace_out_(std::move(out)) {}
  ~sim_backend() override;

  // -- backend ----------------------------------------------------------------

  std::string name() const override { return "sim"; }
  bool virtual_time() const noexcept override { return true; }
  void configure(caf::actor_system_config& cfg) override;
  deployment deploy(caf::actor_system& sys, const scenario& s, const expanded_topology& topo,
                    const run_env& env) override;
  void drive(caf::actor_system& sys, const std::function<bool()>& done) override;
  void teardown() noexcept override;
  nlohmann::json results() const override;
  nlohmann::json counters_now() const override;
  /// The simulated world can do every control and fault of the scenario format.
  std::optional<std::string> refusal(const fault_request&, const scenario&,
                                     const expanded_topology&) const override {
    return std::nullopt;
  }

  /// Shared with the node proxies; defined in the .cpp.
  struct impl;

private:
  std::shared_ptr<impl> impl_;
  sim::trace_request trace_request_;
  std::shared_ptr<sim::world_trace> trace_out_;
  nlohmann::json results_ = nlohmann::json::object();
  duration run_duration_{};
};

/// Registers the `sim` backend and the built-in node models (`chain`).
void register_sim(registry& reg);

/// Adds a user-written node model: `make` builds a node's model factory from its spec (id,
/// role, params), `validate` checks its params. Scenarios then name it as `"model": name`.
void add_sim_model(registry& reg, const std::string& name, const std::string& summary,
                   std::function<sim::model_factory(const node_info&)> make,
                   std::function<void(params_reader&, const group&)> validate);

} // namespace troupe::backends
