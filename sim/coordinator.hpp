#pragma once
// The deterministic CAF scheduler: every actor runs on the caller's thread, in the kernel's
// loop, in FIFO order of becoming ready; time is the kernel's virtual time (virtual_clock).
// Installed with `install(cfg)` before the actor_system is constructed:
//
//   caf::actor_system_config cfg;
//   troupe::sim::install(cfg);
//   caf::actor_system sys{cfg};
//   auto& k = troupe::sim::kernel_of(sys);
//   sys.spawn(...);
//   k.run_until_idle();
//
// Rules for actors in the simulator: no `detached` or blocking actors (they would need
// threads), no `scoped_actor::receive` (nobody else runs while it blocks).

#include <memory>

#include <caf/actor_system_config.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

#include "sim/kernel.hpp"
#include "sim/virtual_clock.hpp"

namespace troupe::sim {

class coordinator final : public caf::scheduler::abstract_coordinator {
public:
  using super = caf::scheduler::abstract_coordinator;

  // -- constructors -----------------------------------------------------------

  explicit coordinator(caf::actor_system& sys);
  ~coordinator() override;

  // -- properties -------------------------------------------------------------

  kernel& sim_kernel() noexcept { return kernel_; }

  // -- caf::scheduler::abstract_coordinator -----------------------------------

  caf::actor_clock& clock() noexcept override { return clock_; }
  bool detaches_utility_actors() const override { return false; }
  void enqueue(caf::resumable* job) override;
  void start() override;
  void stop() override;

private:
  kernel kernel_;
  virtual_clock clock_;
  std::unique_ptr<caf::execution_unit> unit_;
  bool stopped_ = false;
};

/// Makes `cfg` build an actor system on the deterministic scheduler and virtual clock.
void install(caf::actor_system_config& cfg);

/// The kernel of a system configured with `install`; throws std::logic_error otherwise.
kernel& kernel_of(caf::actor_system& sys);

} // namespace troupe::sim
