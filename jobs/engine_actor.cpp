#include "jobs/engine_actor.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <vector>

namespace troupe::jobs {

namespace {

struct engine_state {
  std::shared_ptr<engine_host> host;
  caf::actor_clock::time_point origin{};
  /// Answers held until the commit message writes their changes.
  std::vector<std::function<void()>> held;
  bool commit_queued = false;
  static inline const char* name = "jobs_engine";
};

using actor_t = caf::stateful_actor<engine_state>;

time_ms now_of(actor_t* self) {
  const auto& st = self->state;
  return st.host->epoch_ms +
         std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - st.origin)
           .count();
}

std::optional<int64_t> fence_of(int64_t fence) {
  return fence == 0 ? std::nullopt : std::optional<int64_t>(fence);
}

/// Answers `answer` now when nothing waits to be written, else after the burst's commit.
template <class T> caf::result<T> answer_after_commit(actor_t* self, T answer) {
  auto& st = self->state;
  if (!st.host->group_commit || st.host->e->dirty_count() == 0)
    return answer;
  auto rp = self->make_response_promise();
  st.held.emplace_back(
    [rp, answer = std::move(answer)]() mutable { rp.deliver(std::move(answer)); });
  if (!st.commit_queued) {
    st.commit_queued = true;
    self->send(self, engine_commit_atom::value);
  }
  return caf::delegated<T>{};
}

void commit_burst(actor_t* self) {
  auto& st = self->state;
  st.commit_queued = false;
  st.host->e->commit();
  for (auto& deliver : st.held)
    deliver();
  st.held.clear();
}

caf::behavior engine_actor(actor_t* self, std::shared_ptr<engine_host> host) {
  self->state.host = std::move(host);
  self->state.origin = self->clock().now();
  auto& e = *self->state.host->e;
  return {
    [self, &e](engine_claim_atom, const std::string& type,
               const std::string& worker) -> caf::result<engine_task> {
      engine_task out;
      if (auto t = e.claim(type, worker, now_of(self)))
        out = {t->id, static_cast<uint8_t>(t->which), t->fence, std::move(t->payload)};
      return answer_after_commit(self, std::move(out));
    },
    [self, &e](engine_complete_atom, job_id id, const std::string& worker, std::string& result,
               int64_t fence) -> caf::result<uint8_t> {
      const auto o = e.complete(id, worker, std::move(result), now_of(self), fence_of(fence));
      return answer_after_commit(self, static_cast<uint8_t>(o));
    },
    [self, &e](engine_verify_atom, job_id id, const std::string& worker, uint8_t v,
               const std::string& detail, int64_t fence) -> caf::result<uint8_t> {
      const auto o =
        e.verify(id, worker, static_cast<verdict>(v), detail, now_of(self), fence_of(fence));
      return answer_after_commit(self, static_cast<uint8_t>(o));
    },
    [self, &e](engine_fail_atom, job_id id, const std::string& worker, const std::string& error,
               int64_t fence) -> caf::result<uint8_t> {
      const auto o = e.fail(id, worker, error, now_of(self), fence_of(fence));
      return answer_after_commit(self, static_cast<uint8_t>(o));
    },
    [self, &e](engine_enqueue_atom, const std::string& type,
               std::string& payload) -> caf::result<job_id> {
      const auto id = e.enqueue({type, std::nullopt, std::move(payload), {}, {}}, now_of(self));
      return answer_after_commit(self, id);
    },
    [self](engine_advance_atom, time_ms now) -> caf::result<time_ms, bool> {
      auto& run = self->state.host->run;
      if (!run)
        return {time_ms{-1}, true};
      const auto next = run->advance(now);
      return {next ? *next : time_ms{-1}, run->finished()};
    },
    [self](engine_call_atom, const engine_call& call) -> caf::result<bool> {
      call.f(*self->state.host, now_of(self));
      return answer_after_commit(self, true);
    },
    [self](engine_commit_atom) { commit_burst(self); },
  };
}

} // namespace

caf::actor spawn_engine(caf::actor_system& sys, std::shared_ptr<engine_host> host) {
  return sys.spawn(engine_actor, std::move(host));
}

} // namespace troupe::jobs
