// The engine as an actor (jobs/engine_actor): workers reach it by messages, answers come
// after the commit that makes them durable, a burst of requests shares one commit, a stale
// fencing token is refused through it as directly, and a simulated campaign inside it,
// driven by messages on virtual time, is the campaign run directly.

#include "jobs/engine_actor.hpp"

#include <gtest/gtest.h>

#include <caf/all.hpp>

#include <algorithm>
#include <functional>
#include <memory>

#include "tests/support/paths.hpp"

using namespace troupe::jobs;

namespace {

/// An actor system on CAF's test coordinator: virtual time, one thread, run by hand.
struct virtual_world {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  virtual_world() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  /// Runs every message and every timer (each timer jumps virtual time to it).
  void run_all() {
    sched->run();
    for (int i = 0; i < 10'000'000 && sched->trigger_timeout(); ++i)
      sched->run();
  }
};

std::shared_ptr<engine_host> host_on_sqlite(const std::string& name) {
  auto h = std::make_shared<engine_host>();
  h->db = std::shared_ptr<store>(
    store::open((troupe::test::fresh_dir("engine-actor-" + name) / "jobs.db").string()).release());
  h->e = std::make_shared<engine>(h->db.get(), engine::options{1, 4096});
  type_policy p;
  p.type = "t";
  p.verify = true;
  p.verification_poll_ms = 0;
  h->e->define_type(p);
  h->epoch_ms = 1000;
  return h;
}

} // namespace

TEST(JobsEngineActor, AJobGoesThroughEveryPhaseByMessagesAndEachAnswerFollowsItsCommit) {
  virtual_world w;
  auto h = host_on_sqlite("phases");
  auto actor = spawn_engine(*w.sys, h);
  std::vector<std::string> seen;
  w.sys->spawn([&, actor](caf::event_based_actor* self) {
    auto committed = [&] { return std::to_string(h->db->commits()); };
    self
      ->request(actor, caf::infinite, engine_enqueue_atom::value, std::string("t"),
                std::string("{\"n\":1}"))
      .then([&, self, actor, committed](job_id id) {
        seen.push_back("enqueued " + std::to_string(id) + " after commit " + committed());
        self
          ->request(actor, caf::infinite, engine_claim_atom::value, std::string("t"),
                    std::string("w1"))
          .then([&, self, actor, committed](const engine_task& t) {
            seen.push_back("claimed " + std::to_string(t.id) + " " + t.payload);
            self
              ->request(actor, caf::infinite, engine_complete_atom::value, t.id, std::string("w1"),
                        std::string("{}"), t.fence)
              .then([&, committed](uint8_t o) {
                seen.push_back("completed " + std::to_string(o) + " after commit " + committed());
              });
          });
      });
  });
  w.run_all();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "enqueued 1 after commit 1");
  EXPECT_EQ(seen[1], "claimed 1 {\"n\":1}");
  EXPECT_EQ(seen[2], "completed 0 after commit 3");
  // What the answers said is in the store: a fresh engine over it sees the job processed.
  engine reread(h->db.get());
  reread.define_type(h->e->policy("t"));
  reread.load(0);
  ASSERT_NE(reread.find(1), nullptr);
  EXPECT_EQ(reread.find(1)->status, job_status::pending_verification);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  w.sched->run();
}

TEST(JobsEngineActor, ABurstOfRequestsSharesOneCommitAndAStaleFenceIsRefused) {
  virtual_world w;
  auto h = host_on_sqlite("burst");
  for (int i = 0; i < 10; ++i)
    h->e->enqueue({"t", std::nullopt, "{}", {}, {}}, 1000);
  h->e->commit();
  const auto commits_before = h->db->commits();
  auto actor = spawn_engine(*w.sys, h);
  std::vector<engine_task> tasks;
  std::vector<uint8_t> outcomes;
  w.sys->spawn([&, actor](caf::event_based_actor* self) {
    for (int i = 0; i < 10; ++i)
      self
        ->request(actor, caf::infinite, engine_claim_atom::value, std::string("t"),
                  std::string("w" + std::to_string(i)))
        .then([&](const engine_task& t) { tasks.push_back(t); });
  });
  w.run_all();
  ASSERT_EQ(tasks.size(), 10u);
  EXPECT_EQ(h->db->commits(), commits_before + 1) << "ten claims in one burst, one commit";
  // Every lease expires and one job is claimed anew: its first claim's token is stale.
  const time_ms later = 100'000'000;
  ASSERT_EQ(h->e->expire_leases(later), 10u);
  auto again = h->e->claim("t", "w-new", later);
  ASSERT_TRUE(again);
  const auto first = *std::find_if(tasks.begin(), tasks.end(),
                                   [&](const engine_task& t) { return t.id == again->id; });
  ASSERT_LT(first.fence, again->fence);
  w.sys->spawn([&, actor](caf::event_based_actor* self) {
    self
      ->request(actor, caf::infinite, engine_complete_atom::value, first.id, std::string("w0"),
                std::string("{}"), first.fence)
      .then([&](uint8_t o) { outcomes.push_back(o); });
  });
  w.run_all();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0], static_cast<uint8_t>(outcome::stale_fence));
  EXPECT_EQ(h->e->refused_stale_fence(), 1u);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  w.sched->run();
}

TEST(JobsEngineActor, ACampaignDrivenByMessagesOnVirtualTimeIsTheCampaignRunDirectly) {
  auto pipe = parse_pipeline(nlohmann::json::parse(R"({"name": "p", "stages": [
    {"type": "a", "verification_poll_ms": 500, "process_attempts_max": 4},
    {"type": "b", "after_previous_key": true, "process_attempts_max": 4}]})"));
  auto make = [&](const std::string& name) {
    auto h = std::make_shared<engine_host>();
    h->db = std::shared_ptr<store>(
      store::open((troupe::test::fresh_dir("engine-actor-" + name) / "jobs.db").string())
        .release());
    h->e = std::make_shared<engine>(h->db.get(), engine::options{7, 4096});
    h->e->add_pipeline(pipe);
    h->group_commit = false;
    sim_pipeline_campaign::options o;
    o.seed = 7;
    o.pipeline = "p";
    o.count = 200;
    sim_worker_spec a, b;
    a.type = "a";
    a.workers = 4;
    a.process_latency = {latency_dist::kind::exponential, 300, 0};
    a.fail_p = 0.05;
    a.crash_p = 0.01;
    a.verify_pending_p = 0.2;
    b.type = "b";
    b.workers = 2;
    o.workers = {a, b};
    h->run = std::make_shared<sim_pipeline_campaign>(*h->e, o);
    return h;
  };
  auto direct = make("direct");
  direct->run->run_to_end(24LL * 3600 * 1000);
  ASSERT_TRUE(direct->run->finished());

  virtual_world w;
  auto h = make("actor");
  auto actor = spawn_engine(*w.sys, h);
  bool finished = false;
  // A driver like the `jobs` workload: advance to now, sleep (virtual time) until next.
  w.sys->spawn([&, actor](caf::event_based_actor* self) {
    const auto t0 = self->clock().now();
    auto step = std::make_shared<std::function<void()>>();
    // Not itself: a step holding its own shared_ptr would never be freed (LeakSanitizer).
    *step = [&, self, actor, t0] {
      const auto now =
        std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - t0).count();
      self->request(actor, caf::infinite, engine_advance_atom::value, time_ms{now})
        .then([&, self, now](time_ms next, bool done) {
          finished = done;
          if (done || next < 0) {
            self->quit();
            return;
          }
          self->delayed_send(self, std::chrono::milliseconds(std::max<time_ms>(0, next - now)),
                             caf::atom("step"));
        });
    };
    (*step)();
    return caf::behavior{[step](caf::atom_value) { (*step)(); }};
  });
  w.run_all();
  EXPECT_TRUE(finished);
  EXPECT_EQ(h->e->digest(), direct->e->digest());
  EXPECT_EQ(h->run->summary().dump(), direct->run->summary().dump());
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  w.sched->run();
}
