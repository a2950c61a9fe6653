// The CAF side: actors run on the kernel, time is virtual, no thread is started, and the
// actor system shuts down promptly with live actors.

#include "sim/coordinator.hpp"

#include <dirent.h>

#include <caf/all.hpp>
#include <gtest/gtest.h>

using namespace std::chrono_literals;
using troupe::sim::duration;

namespace {

using ok_atom = caf::atom_constant<caf::atom("ok")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

size_t thread_count() {
  size_t n = 0;
  if (auto* d = opendir("/proc/self/task")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.')
        ++n;
    closedir(d);
  }
  return n;
}

struct sim_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  sim_system() {
    troupe::sim::install(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  troupe::sim::kernel& k() { return troupe::sim::kernel_of(*sys); }
};

} // namespace

TEST(caf_sim, starts_no_threads) {
  auto before = thread_count();
  {
    sim_system s;
    EXPECT_EQ(thread_count(), before);
    s.sys->spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
    s.k().run_until_idle();
    EXPECT_EQ(thread_count(), before);
  }
  EXPECT_EQ(thread_count(), before);
}

TEST(caf_sim, delayed_send_arrives_at_the_virtual_instant) {
  sim_system s;
  auto& k = s.k();
  auto seen = std::make_shared<std::vector<duration>>();
  auto a = s.sys->spawn([seen, &k](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, std::chrono::milliseconds(250), ok_atom::value);
    return {[seen, &k](ok_atom) { seen->push_back(k.now()); }};
  });
  k.run_until_idle();
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0], duration{250ms});
}

TEST(caf_sim, after_timeout_fires_at_the_virtual_instant) {
  sim_system s;
  auto& k = s.k();
  auto fired_at = std::make_shared<duration>(-1);
  s.sys->spawn([fired_at, &k](caf::event_based_actor* self) -> caf::behavior {
    return {[](int) {}, caf::after(std::chrono::seconds(3)) >>
                          [self, fired_at, &k] {
                            *fired_at = k.now();
                            self->quit();
                          }};
  });
  k.run_until_idle();
  EXPECT_EQ(*fired_at, duration{3s});
}

TEST(caf_sim, request_timeout_fires_at_the_virtual_instant) {
  sim_system s;
  auto& k = s.k();
  auto err_at = std::make_shared<duration>(-1);
  auto got = std::make_shared<caf::error>();
  // The server never answers in time: it answers after 10 s, the request waits 2 s.
  auto server = s.sys->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int x) -> caf::result<int> {
      auto rp = self->make_response_promise<int>();
      self->delayed_send(self, std::chrono::seconds(10), ok_atom::value, x);
      self->become(caf::keep_behavior, [self, rp](ok_atom, int y) mutable {
        rp.deliver(y);
        self->unbecome();
      });
      return rp;
    }};
  });
  s.sys->spawn([server, err_at, got, &k](caf::event_based_actor* self) {
    self->request(server, std::chrono::seconds(2), 42)
      .then([](int) { FAIL() << "the reply must not arrive in time"; },
            [err_at, got, &k](caf::error& e) {
              *err_at = k.now();
              *got = e;
            });
  });
  k.run_until_idle();
  EXPECT_EQ(*err_at, duration{2s});
  EXPECT_EQ(*got, caf::sec::request_timeout);
}

TEST(caf_sim, request_reply_before_timeout_cancels_it) {
  sim_system s;
  auto& k = s.k();
  auto got = std::make_shared<int>(0);
  auto server = s.sys->spawn(
    [](caf::event_based_actor*) -> caf::behavior { return {[](int x) { return x + 1; }}; });
  s.sys->spawn([server, got](caf::event_based_actor* self) {
    self->request(server, std::chrono::seconds(2), 41).then([got](int y) { *got = y; });
  });
  k.run_until_idle();
  EXPECT_EQ(*got, 42);
  // The cancelled timeout is no longer live; virtual time did not jump to 2 s for it.
  EXPECT_LT(k.now(), duration{2s});
}

TEST(caf_sim, shutdown_with_live_periodic_actors_terminates) {
  auto ticks = std::make_shared<int>(0);
  {
    sim_system s;
    for (int i = 0; i < 10; ++i) {
      s.sys->spawn([ticks](caf::event_based_actor* self) -> caf::behavior {
        self->send(self, tick_atom::value);
        return {[self, ticks](tick_atom) {
          ++*ticks;
          self->delayed_send(self, std::chrono::milliseconds(100), tick_atom::value);
        }};
      });
    }
    s.k().run_until(duration{1s});
  }
  EXPECT_EQ(*ticks, 10 * 11);
}

TEST(caf_sim, same_program_same_order) {
  auto run = [] {
    sim_system s;
    auto log = std::make_shared<std::vector<int>>();
    std::vector<caf::actor> xs;
    for (int i = 0; i < 20; ++i)
      xs.push_back(s.sys->spawn([i, log](caf::event_based_actor* self) -> caf::behavior {
        self->delayed_send(self, std::chrono::milliseconds((i * 7) % 5), ok_atom::value);
        return {[i, log](ok_atom) { log->push_back(i); }};
      }));
    s.k().run_until_idle();
    return *log;
  };
  auto a = run();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(a, run());
}
