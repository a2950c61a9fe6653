#pragma once
// Helpers for tests that run real node programs: scenarios built in code, a temporary run
// directory, node-protocol calls through a scoped actor, and a block-event collector.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/node_protocol.hpp"
#include "actors/scenario/topology.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/local/program.hpp"
#include "tests/support/paths.hpp"

namespace troupe::backends::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

/// A fresh directory under the build tree (kept for inspection after a failure).
inline fs::path temp_run_dir(const std::string& name) { return troupe::test::fresh_dir(name); }

inline scenario one_group(const std::string& program, const std::string& group, uint32_t count,
                          nlohmann::json params = nlohmann::json::object(),
                          nlohmann::json backend_params = nlohmann::json::object()) {
  scenario s;
  s.name = "test";
  troupe::group g;
  g.name = group;
  g.role = group;
  g.count = count;
  g.node.program = program;
  g.node.params = std::move(params);
  s.topology.groups.push_back(g);
  s.topology.layout.kind = layout_kind::mesh;
  s.backend.name = "local";
  s.backend.params = std::move(backend_params);
  return s;
}

/// Writes a variant of a built-in program (changed by `edit`) to `dir` and returns its path.
inline std::string program_variant(const std::string& builtin, const fs::path& dir,
                                   const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in{local::programs_dir() / (builtin + ".json")};
  auto doc = nlohmann::json::parse(in);
  edit(doc);
  auto path = dir / (builtin + "-variant.json");
  std::ofstream{path} << doc.dump(2);
  return path.string();
}

inline bool pid_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

template <class T, class... Ts> T ask(caf::scoped_actor& self, const caf::actor& a, Ts&&... xs) {
  T out{};
  bool ok = false;
  self->request(a, std::chrono::seconds(30), std::forward<Ts>(xs)...)
    .receive(
      [&](T& x) {
        out = std::move(x);
        ok = true;
      },
      [&](caf::error& e) { ADD_FAILURE() << "request failed: " << to_string(e); });
  EXPECT_TRUE(ok);
  return out;
}

inline node_status status(caf::scoped_actor& self, const node_handle& n) {
  return ask<node_status>(self, n.actor, get_status_atom::value);
}

/// Polls `pred` every 200 ms until it holds or `limit` passes.
inline bool eventually(std::chrono::milliseconds limit, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return pred();
}

/// Records every block event it receives.
struct event_log {
  std::mutex mutex;
  std::vector<block_event> events;

  std::set<std::string> txs(const std::string& node, block_event::kind_t kind) {
    std::lock_guard<std::mutex> guard{mutex};
    std::set<std::string> out;
    for (auto& e : events)
      if (e.node == node && e.kind == kind)
        out.insert(e.txs.begin(), e.txs.end());
    return out;
  }
  size_t count(block_event::kind_t kind) {
    std::lock_guard<std::mutex> guard{mutex};
    size_t n = 0;
    for (auto& e : events)
      n += e.kind == kind;
    return n;
  }
};

inline caf::actor spawn_collector(caf::actor_system& sys, std::shared_ptr<event_log> log) {
  return sys.spawn([log](caf::event_based_actor*) -> caf::behavior {
    return {[log](const block_event& ev) {
      std::lock_guard<std::mutex> guard{log->mutex};
      log->events.push_back(ev);
    }};
  });
}

/// A backend deployed for one test, torn down at the end of the scope.
struct live_run {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  local::local_backend backend;
  scenario s;
  expanded_topology topo;
  run_env env;
  deployment dep;
  std::vector<caf::actor> helpers; ///< test actors, stopped with the run

  explicit live_run(scenario sc, const std::string& name)
    : s(std::move(sc)) {
    topo = expand(s);
    env.run_dir = temp_run_dir(name);
    env.seed = 7;
  }
  void deploy() { dep = backend.deploy(sys, s, topo, env); }
  /// Subscribes one collector to every node.
  std::shared_ptr<event_log> subscribe_all() {
    auto log = std::make_shared<event_log>();
    auto c = spawn_collector(sys, log);
    helpers.push_back(c);
    caf::scoped_actor self{sys};
    for (auto& n : dep.nodes)
      EXPECT_TRUE(ask<bool>(self, n.actor, subscribe_atom::value, c));
    return log;
  }
  ~live_run() {
    backend.teardown();
    for (auto& a : helpers)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    // Keep the run directory (node logs) only when the test failed.
    if (!::testing::Test::HasFailure()) {
      std::error_code ec;
      fs::remove_all(env.run_dir, ec);
    }
  }
};

} // namespace troupe::backends::testing
