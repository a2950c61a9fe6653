#include "actors/sync_actor.hpp"

#include <chrono>
#include <map>

#include "actors/random.hpp"

namespace troupe {

namespace {

using expire_atom = caf::atom_constant<caf::atom("syncexp")>;

struct sync_actor_state {
  sync_state core;
  run_trace_ptr trace;
  sync_state::waiter_id next_id = 1;
  struct waiter {
    caf::response_promise rp;
    std::string state; ///< a barrier's state (empty: a subscription)
  };
  std::map<sync_state::waiter_id, waiter> held;
  static inline const char* name = "sync";
};

using sync_actor = caf::stateful_actor<sync_actor_state>;

void fold(sync_actor* self, sync_trace what, uint64_t a, uint64_t b) {
  if (self->state.trace)
    self->state.trace->fold_event(static_cast<uint32_t>(what), a, b);
}

/// Holds `rp` as waiter `id`, given up after `wait_ns` (< 0: never).
void hold(sync_actor* self, sync_state::waiter_id id, caf::response_promise rp, int64_t wait_ns,
          std::string state = {}) {
  self->state.held.emplace(id, sync_actor_state::waiter{std::move(rp), std::move(state)});
  if (wait_ns >= 0)
    self->delayed_send(self, std::chrono::nanoseconds(wait_ns), expire_atom::value, id);
}

void release_barriers(sync_actor* self, const std::string& state) {
  auto& st = self->state;
  const uint64_t now = st.core.count(state);
  for (auto id : st.core.take_released(state)) {
    auto it = st.held.find(id);
    if (it == st.held.end())
      continue;
    it->second.rp.deliver(sync_answer{now, {}, {}});
    st.held.erase(it);
  }
}

void answer_subscribers(sync_actor* self, const std::string& topic) {
  auto& st = self->state;
  for (auto [id, from] : st.core.take_ready(topic)) {
    auto it = st.held.find(id);
    if (it == st.held.end())
      continue;
    it->second.rp.deliver(sync_answer{from, st.core.read(topic, from), {}});
    st.held.erase(it);
  }
}

caf::behavior sync_behavior(sync_actor* self, run_trace_ptr trace, sync_state::options o) {
  self->state.core = sync_state{o};
  self->state.trace = std::move(trace);
  // A client that answers the service's replies with an error (it had no handler for them)
  // must not end the service for everyone: the default error handler would quit the actor.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](sync_signal_atom, const std::string& state) {
      auto r = self->state.core.signal_entry(state);
      if (!r.ok())
        return sync_answer{0, {}, r.error};
      fold(self, sync_trace::signal, stable_hash(state), r.value);
      release_barriers(self, state);
      return sync_answer{r.value, {}, {}};
    },
    [=](sync_count_atom, const std::string& state) {
      return sync_answer{self->state.core.count(state), {}, {}};
    },
    [=](sync_barrier_atom, const std::string& state, uint64_t target,
        int64_t wait_ns) -> caf::result<sync_answer> {
      auto& st = self->state;
      const auto id = st.next_id++;
      bool released = false;
      auto r = st.core.barrier(state, target, id, released);
      if (!r.ok())
        return sync_answer{r.value, {}, r.error};
      if (released || wait_ns == 0) {
        if (!released)
          st.core.cancel(id);
        return sync_answer{r.value, {}, {}};
      }
      auto rp = self->make_response_promise();
      hold(self, id, rp, wait_ns, state);
      return rp;
    },
    [=](sync_publish_atom, const std::string& topic, std::string& payload) {
      const auto payload_hash = stable_hash(payload);
      auto r = self->state.core.publish(topic, std::move(payload));
      if (!r.ok())
        return sync_answer{0, {}, r.error};
      fold(self, sync_trace::publish, stable_hash(topic), r.value << 32 ^ payload_hash);
      answer_subscribers(self, topic);
      return sync_answer{r.value, {}, {}};
    },
    [=](sync_subscribe_atom, const std::string& topic, uint64_t from,
        int64_t wait_ns) -> caf::result<sync_answer> {
      auto& st = self->state;
      if (from == 0)
        from = 1;
      const auto id = st.next_id++;
      bool ready = false;
      auto r = st.core.subscribe(topic, from, id, ready);
      if (!r.ok())
        return sync_answer{from, {}, r.error};
      if (ready || wait_ns == 0) {
        if (!ready)
          st.core.cancel(id);
        return sync_answer{from, st.core.read(topic, from), {}};
      }
      auto rp = self->make_response_promise();
      hold(self, id, rp, wait_ns);
      return rp;
    },
    [=](expire_atom, sync_state::waiter_id id) {
      auto& st = self->state;
      auto it = st.held.find(id);
      if (it == st.held.end())
        return;
      // The wait is over: a barrier answers its count so far, a subscription no payloads.
      st.core.cancel(id);
      auto& w = it->second;
      w.rp.deliver(sync_answer{w.state.empty() ? 0 : st.core.count(w.state), {}, {}});
      st.held.erase(it);
    },
  };
}

} // namespace

caf::actor spawn_sync(caf::actor_system& sys, run_trace_ptr trace, sync_state::options o) {
  return sys.spawn(sync_behavior, std::move(trace), o);
}

} // namespace troupe
