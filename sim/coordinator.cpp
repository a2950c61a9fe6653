#include "sim/coordinator.hpp"

#include <iostream>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/make_actor.hpp>
#include <caf/message_handler.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/resumable.hpp>

namespace troupe::sim {

namespace {

/// Hands actors that become ready during a resume back to the kernel's FIFO.
class unit final : public caf::execution_unit {
public:
  unit(caf::actor_system& sys, kernel& k)
    : caf::execution_unit(&sys)
    , kernel_(k) {
    // nop
  }

  void exec_later(caf::resumable* job) override { kernel_.enqueue_ready(job); }

private:
  kernel& kernel_;
};

/// `aout` without the detached printer thread CAF would start: prints inline.
class inline_printer final : public caf::monitorable_actor {
public:
  explicit inline_printer(caf::actor_config& cfg)
    : caf::monitorable_actor(cfg) {
    handler_.assign([](caf::add_atom, caf::actor_id, const std::string& str) { std::cout << str; });
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    handler_(what->content());
  }

private:
  caf::message_handler handler_;
};

} // namespace

// -- constructors -------------------------------------------------------------

coordinator::coordinator(caf::actor_system& sys)
  : super(sys)
  , clock_(kernel_) {
  // nop
}

coordinator::~coordinator() {
  // Anything still queued after stop() only holds references; release without running.
  kernel_.drop_ready();
}

// -- scheduling ---------------------------------------------------------------

void coordinator::enqueue(caf::resumable* job) { kernel_.enqueue_ready(job); }

void coordinator::start() {
  unit_ = std::make_unique<unit>(system(), kernel_);
  auto tp = max_throughput();
  kernel_.attach(unit_.get(), tp == 0 ? 1 : tp);
  // The system's destructor would otherwise block on a condition variable until every actor
  // is done -- with no other thread to run them, that is a hang. stop() drains instead.
  system().await_actors_before_shutdown(false);
  caf::actor_config cfg{unit_.get()};
  auto& sys = system();
  utility_actors_[printer_id] =
    caf::make_actor<inline_printer, caf::actor>(sys.next_actor_id(), sys.node(), &sys, cfg);
}

void coordinator::stop() {
  // Called from the actor_system's destructor after it sent exit messages to its internal
  // actors. Run what is ready (exits, down messages), then drop every timer: timers hold
  // strong references, and releasing them lets idle actors die. Bounded, so a run that
  // keeps producing work cannot hang shutdown.
  for (int round = 0; round < 64; ++round) {
    size_t n = kernel_.run_ready();
    auto timers = clock_.live_timers();
    clock_.cancel_all();
    if (n == 0 && timers == 0 && !kernel_.has_ready())
      break;
  }
  kernel_.drop_ready();
  for (auto& x : utility_actors_)
    x = nullptr;
  stopped_ = true;
}

// -- free functions -----------------------------------------------------------

void install(caf::actor_system_config& cfg) {
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* { return new coordinator(sys); });
}

kernel& kernel_of(caf::actor_system& sys) {
  auto* c = dynamic_cast<coordinator*>(&sys.scheduler());
  if (c == nullptr)
    throw std::logic_error("kernel_of: the actor system was not configured with "
                           "troupe::sim::install(cfg)");
  return c->sim_kernel();
}

} // namespace troupe::sim
