#include "jobs/campaign_actor.hpp"

#include <chrono>

namespace troupe::jobs {

namespace {

struct campaign_state {
  std::shared_ptr<campaign> run;
  std::shared_ptr<void> keep_alive;
  time_ms time_ms_max = 0;
  std::optional<caf::actor_clock::time_point> origin;
  std::vector<caf::response_promise> waiting;
  bool done = false;
  static inline const char* name = "jobs_campaign";
};

time_ms since(const caf::actor_clock::time_point& origin, const caf::actor_clock::time_point& t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - origin).count();
}

caf::behavior campaign_actor(caf::stateful_actor<campaign_state>* self, std::shared_ptr<campaign> c,
                             time_ms time_ms_max, std::shared_ptr<void> keep_alive) {
  self->state.run = std::move(c);
  self->state.keep_alive = std::move(keep_alive);
  self->state.time_ms_max = time_ms_max;
  auto finish = [self] {
    self->state.done = true;
    const auto text = self->state.run->summary().dump();
    for (auto& p : self->state.waiting)
      p.deliver(text);
    self->state.waiting.clear();
  };
  return {
    [self](campaign_run_atom) -> caf::result<std::string> {
      if (self->state.done)
        return self->state.run->summary().dump();
      self->state.waiting.push_back(self->make_response_promise());
      if (!self->state.origin) {
        self->state.origin = self->clock().now();
        self->send(self, campaign_tick_atom::value);
      }
      return self->state.waiting.back();
    },
    [self, finish](campaign_tick_atom) {
      if (self->state.done)
        return;
      const auto now = since(*self->state.origin, self->clock().now());
      auto next = self->state.run->advance(now);
      if (!next || self->state.run->finished() || *next > self->state.time_ms_max) {
        finish();
        return;
      }
      const auto delay = std::max<time_ms>(0, *next - now);
      self->delayed_send(self, std::chrono::milliseconds(delay), campaign_tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_campaign(caf::actor_system& sys, std::shared_ptr<campaign> c, time_ms time_ms_max,
                          std::shared_ptr<void> keep_alive) {
  return sys.spawn(campaign_actor, std::move(c), time_ms_max, std::move(keep_alive));
}

} // namespace troupe::jobs
