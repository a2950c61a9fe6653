#include "sim/virtual_clock.hpp"

#include <caf/abstract_actor.hpp>
#include <caf/abstract_group.hpp>
#include <caf/sec.hpp>
#include <caf/system_messages.hpp>

namespace troupe::sim {

namespace {

constexpr uint8_t lookup_kind(uint8_t k) noexcept { return k; }

} // namespace

// -- constructors -------------------------------------------------------------

virtual_clock::virtual_clock(kernel& k)
  : kernel_(k) {
  // nop
}

virtual_clock::~virtual_clock() {
  // nop
}

// -- observers ----------------------------------------------------------------

virtual_clock::time_point virtual_clock::now() const noexcept {
  return time_point{std::chrono::duration_cast<duration_type>(kernel_.now())};
}

// -- slots --------------------------------------------------------------------

uint32_t virtual_clock::allocate() {
  if (!free_.empty()) {
    auto slot = free_.back();
    free_.pop_back();
    return slot;
  }
  timers_.emplace_back();
  return static_cast<uint32_t>(timers_.size() - 1);
}

void virtual_clock::release(uint32_t slot) {
  auto& t = timers_[slot];
  if (!t.live)
    return;
  t.live = false;
  ++t.generation;
  --live_;
  // Move the references out first: dropping the last reference to an actor runs its
  // cleanup, which may call back into this clock.
  auto self = std::move(t.self);
  auto content = std::move(t.content);
  auto grp = std::move(t.grp);
  auto msg = std::move(t.msg);
  free_.push_back(slot);
}

void virtual_clock::arm(time_point t, uint32_t slot) {
  auto& tm = timers_[slot];
  tm.live = true;
  ++live_;
  auto at = std::chrono::duration_cast<duration>(t.time_since_epoch());
  kernel_.schedule(at, *this, 0, tm.generation, slot);
}

void virtual_clock::add_lookup(const lookup_key& key, uint32_t slot) { lookup_[key] = slot; }

void virtual_clock::cancel(const lookup_key& key) {
  auto i = lookup_.find(key);
  if (i == lookup_.end())
    return;
  auto slot = i->second;
  lookup_.erase(i);
  release(slot);
}

// -- timeouts -----------------------------------------------------------------

void virtual_clock::set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                                         caf::atom_value type, uint64_t id) {
  // An ordinary timeout replaces the previous one of the same type (CAF semantics).
  lookup_key key{self->id(), lookup_kind(ordinary), static_cast<uint64_t>(type)};
  cancel(key);
  auto slot = allocate();
  auto& tm = timers_[slot];
  tm.type = ordinary;
  tm.self = self->ctrl();
  tm.atom = type;
  tm.id = id;
  add_lookup(key, slot);
  arm(t, slot);
}

void virtual_clock::set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                                      uint64_t id) {
  lookup_key key{self->id(), lookup_kind(multi), id};
  cancel(key);
  auto slot = allocate();
  auto& tm = timers_[slot];
  tm.type = multi;
  tm.self = self->ctrl();
  tm.atom = type;
  tm.id = id;
  add_lookup(key, slot);
  arm(t, slot);
}

void virtual_clock::set_request_timeout(time_point t, caf::abstract_actor* self,
                                        caf::message_id id) {
  lookup_key key{self->id(), lookup_kind(request), id.integer_value()};
  cancel(key);
  auto slot = allocate();
  auto& tm = timers_[slot];
  tm.type = request;
  tm.self = self->ctrl();
  tm.id = id.integer_value();
  add_lookup(key, slot);
  arm(t, slot);
}

void virtual_clock::cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) {
  cancel({self->id(), lookup_kind(ordinary), static_cast<uint64_t>(type)});
}

void virtual_clock::cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) {
  cancel({self->id(), lookup_kind(request), id.integer_value()});
}

void virtual_clock::cancel_timeouts(caf::abstract_actor* self) {
  auto aid = static_cast<uint64_t>(self->id());
  auto first = lookup_.lower_bound(lookup_key{aid, 0, 0});
  auto last = lookup_.lower_bound(lookup_key{aid + 1, 0, 0});
  std::vector<uint32_t> slots;
  for (auto i = first; i != last; ++i)
    slots.push_back(i->second);
  lookup_.erase(first, last);
  for (auto slot : slots)
    release(slot);
}

// -- delayed messages ---------------------------------------------------------

void virtual_clock::schedule_message(time_point t, caf::strong_actor_ptr receiver,
                                     caf::mailbox_element_ptr content) {
  auto slot = allocate();
  auto& tm = timers_[slot];
  tm.type = actor_msg;
  tm.self = std::move(receiver);
  tm.content = std::move(content);
  arm(t, slot);
}

void virtual_clock::schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                                     caf::message content) {
  auto slot = allocate();
  auto& tm = timers_[slot];
  tm.type = group_msg;
  tm.grp = std::move(target);
  tm.self = std::move(sender);
  tm.msg = std::move(content);
  arm(t, slot);
}

void virtual_clock::cancel_all() {
  lookup_.clear();
  for (uint32_t slot = 0; slot < timers_.size(); ++slot)
    release(slot);
}

// -- firing -------------------------------------------------------------------

bool virtual_clock::on_event(uint32_t, uint32_t generation, uint64_t slot64) {
  auto slot = static_cast<uint32_t>(slot64);
  auto& tm = timers_[slot];
  if (!tm.live || tm.generation != generation)
    return false; // cancelled (lazy deletion: the heap entry stays until its time)
  auto type = tm.type;
  auto self = std::move(tm.self);
  auto content = std::move(tm.content);
  auto grp = std::move(tm.grp);
  auto msg = std::move(tm.msg);
  auto atom = tm.atom;
  auto id = tm.id;
  if (type == ordinary || type == multi || type == request)
    lookup_.erase(lookup_key{self->id(), lookup_kind(type),
                             type == ordinary ? static_cast<uint64_t>(atom) : id});
  release(slot);
  // Shipping mirrors caf::detail::simple_actor_clock, so actors see the same messages as
  // under CAF's own schedulers.
  switch (type) {
    case ordinary:
    case multi:
      self->get()->eq_impl(caf::make_message_id(), self, nullptr, caf::timeout_msg{atom, id});
      break;
    case request:
      self->get()->eq_impl(caf::message_id{id}, self, nullptr, caf::sec::request_timeout);
      break;
    case actor_msg:
      self->enqueue(std::move(content), nullptr);
      break;
    case group_msg:
      grp->eq_impl(caf::make_message_id(), std::move(self), nullptr, std::move(msg));
      break;
  }
  return true;
}

} // namespace troupe::sim
