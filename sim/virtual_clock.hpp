#pragma once
// A `caf::actor_clock` on the kernel's virtual time: every CAF timeout (after(...), request
// timeouts) and delayed message (delayed_send) becomes an event in the kernel's heap, ordered
// by (time, sequence) together with the simulated network. No timer thread, no wall clock.

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/group.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>

#include "sim/kernel.hpp"

namespace troupe::sim {

class virtual_clock final : public caf::actor_clock, private event_target {
public:
  // -- constructors -----------------------------------------------------------

  explicit virtual_clock(kernel& k);
  ~virtual_clock() override;

  // -- properties -------------------------------------------------------------

  /// Timers and delayed messages that are scheduled and not cancelled.
  size_t live_timers() const noexcept { return live_; }

  // -- caf::actor_clock -------------------------------------------------------

  /// The kernel's virtual time as a steady_clock time point (epoch = start of the run).
  time_point now() const noexcept override;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

private:
  // -- implementation ---------------------------------------------------------

  enum kind : uint8_t { ordinary, multi, request, actor_msg, group_msg };

  struct timer {
    kind type = ordinary;
    bool live = false;
    uint32_t generation = 0; ///< guards a slot reused after cancellation
    caf::strong_actor_ptr self;
    caf::atom_value atom = static_cast<caf::atom_value>(0);
    uint64_t id = 0; ///< timeout id, or request message id
    caf::mailbox_element_ptr content;
    caf::group grp;
    caf::message msg;
  };

  /// (actor id, kind, key): ordered, so cancelling all of an actor's timers is a range.
  using lookup_key = std::tuple<uint64_t, uint8_t, uint64_t>;

  uint32_t allocate();
  void release(uint32_t slot);
  void arm(time_point t, uint32_t slot);
  void add_lookup(const lookup_key& key, uint32_t slot);
  void cancel(const lookup_key& key);
  bool on_event(uint32_t code, uint32_t generation, uint64_t slot) override;

  kernel& kernel_;
  std::vector<timer> timers_;
  std::vector<uint32_t> free_;
  std::map<lookup_key, uint32_t> lookup_;
  size_t live_ = 0;
};

} // namespace troupe::sim
