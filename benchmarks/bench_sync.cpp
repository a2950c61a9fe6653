// The sync service and the discovery registry over HTTP on this machine, each beside a
// baseline measured in the same run. Prints one JSON line per figure.
//
//   barrier        N participants (threads, each its own keep-alive connection) signal_and_wait
//                  one state over HTTP: time from the last arrival (its signal answered) to
//                  the last participant released. Baseline: the same threads released by an
//                  in-process condition variable.
//   pubsub         one publisher publishes M payloads over HTTP while S subscribers read all
//                  of them: payloads delivered per second. Baseline: publishing to the sync
//                  actor in-process (no HTTP).
//   registry       T threads submit signed announcements: submissions per second. Baselines:
//                  the SQLite store alone (no HTTP, no signature) and Ed25519 verification
//                  alone.
//
// Usage: bench_sync [--participants 1000] [--messages 5000] [--subscribers 4]
//                   [--submissions 4000] [--threads 8]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/sync_actor.hpp"
#include "services/discovery_client.hpp"
#include "services/discovery_server.hpp"
#include "services/ed25519.hpp"
#include "services/sync_client.hpp"
#include "services/sync_http.hpp"

using nlohmann::json;
using steady = std::chrono::steady_clock;
using namespace troupe;

namespace {

double seconds(steady::duration d) { return std::chrono::duration<double>(d).count(); }

size_t arg(int argc, char** argv, const char* name, size_t dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0)
      return std::stoul(argv[i + 1]);
  return dflt;
}

void barrier_figure(caf::actor_system& sys, caf::actor sync, const std::string& url, size_t n) {
  std::vector<steady::time_point> released(n);
  std::atomic<int64_t> last_arrival{0};
  std::atomic<size_t> failed{0};
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> ts;
  for (size_t i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      try {
        services::sync_client c{url};
        const auto seq = c.signal_entry("bench");
        if (seq == n)
          last_arrival = steady::now().time_since_epoch().count();
        c.barrier("bench", n, std::chrono::minutes(5));
        released[i] = steady::now();
      } catch (const std::exception& e) {
        // A participant that could not take part is counted, never a crash.
        std::lock_guard<std::mutex> lk(error_mutex);
        if (failed++ == 0)
          first_error = e.what();
      }
    });
  for (auto& t : ts)
    t.join();
  if (failed > 0) {
    std::printf("%s\n", json{{"figure", "barrier_last_arrival_to_all_released_ms"},
                             {"participants", n},
                             {"failed", failed.load()},
                             {"first_error", first_error}}
                          .dump()
                          .c_str());
    return;
  }
  const auto last = steady::time_point(steady::duration(last_arrival.load()));
  const auto all = *std::max_element(released.begin(), released.end());

  // Baseline: the same number of threads released by one notify_all.
  std::mutex m;
  std::condition_variable cv;
  size_t arrived = 0;
  steady::time_point base_last;
  std::vector<steady::time_point> base_released(n);
  ts.clear();
  for (size_t i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      std::unique_lock<std::mutex> lk(m);
      if (++arrived == n) {
        base_last = steady::now();
        cv.notify_all();
      } else {
        cv.wait(lk, [&] { return arrived == n; });
      }
      base_released[i] = steady::now();
    });
  for (auto& t : ts)
    t.join();
  const auto base_all = *std::max_element(base_released.begin(), base_released.end());
  std::printf("%s\n", json{{"figure", "barrier_last_arrival_to_all_released_ms"},
                           {"participants", n},
                           {"http_ms", seconds(all - last) * 1e3},
                           {"baseline_condvar_ms", seconds(base_all - base_last) * 1e3}}
                        .dump()
                        .c_str());
  (void) sys;
  (void) sync;
}

void pubsub_figure(caf::actor_system& sys, caf::actor sync, const std::string& url, size_t m,
                   size_t subs) {
  const auto t0 = steady::now();
  std::vector<std::thread> ts;
  std::atomic<size_t> delivered{0};
  for (size_t s = 0; s < subs; ++s)
    ts.emplace_back([&] {
      services::sync_client c{url};
      uint64_t next = 1;
      while (next <= m) {
        auto got = c.subscribe("bench-topic", next, std::chrono::seconds(60));
        if (got.empty())
          break;
        next += got.size();
        delivered += got.size();
      }
    });
  {
    services::sync_client c{url};
    for (size_t i = 0; i < m; ++i)
      c.publish("bench-topic", json{{"i", i}});
  }
  for (auto& t : ts)
    t.join();
  const double http_s = seconds(steady::now() - t0);

  caf::scoped_actor self{sys};
  const auto b0 = steady::now();
  for (size_t i = 0; i < m; ++i)
    self
      ->request(sync, caf::infinite, sync_publish_atom::value, std::string("base-topic"),
                json{{"i", i}}.dump())
      .receive([](const sync_answer&) {}, [](const caf::error&) {});
  const double base_s = seconds(steady::now() - b0);
  std::printf("%s\n", json{{"figure", "pubsub"},
                           {"messages", m},
                           {"subscribers", subs},
                           {"http_publish_per_s", m / http_s},
                           {"http_delivered_per_s", delivered.load() / http_s},
                           {"baseline_actor_publish_per_s", m / base_s}}
                        .dump()
                        .c_str());
}

void registry_figure(size_t n, size_t threads) {
  const auto dir = std::filesystem::temp_directory_path() / "troupe-bench-sync";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto kp = services::ed25519_generate();
  { std::ofstream{dir / "whitelist"} << kp.public_b64 << "\n"; }
  services::discovery_options o;
  o.http.port = 0;
  o.whitelist = dir / "whitelist";
  o.db = dir / "registry.db";
  services::discovery_server server{o};
  server.start();
  const auto t0 = steady::now();
  std::vector<std::thread> ts;
  for (size_t t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (size_t i = t; i < n; i += threads) {
        services::announcement a;
        a.id = "node-" + std::to_string(i % 500);
        a.program = "etcd";
        a.endpoints = {{"client", "127.0.0.1:2379"}};
        services::announce_once(server.url(), kp.secret_b64, a);
      }
    });
  for (auto& t : ts)
    t.join();
  const double http_s = seconds(steady::now() - t0);
  server.stop();

  services::discovery_store store{dir / "baseline.db"};
  const auto b0 = steady::now();
  for (size_t i = 0; i < n; ++i) {
    services::discovered_node d;
    d.id = "node-" + std::to_string(i % 500);
    d.key = kp.public_b64;
    d.program = "etcd";
    store.submit(d, static_cast<int64_t>(i));
  }
  const double store_s = seconds(steady::now() - b0);
  const std::string body(200, 'x');
  const auto sig = services::ed25519_sign(kp.secret_b64, body);
  const auto v0 = steady::now();
  for (size_t i = 0; i < n; ++i)
    services::ed25519_verify(kp.public_b64, body, sig);
  const double verify_s = seconds(steady::now() - v0);
  std::printf("%s\n", json{{"figure", "registry_submissions"},
                           {"submissions", n},
                           {"threads", threads},
                           {"http_signed_per_s", n / http_s},
                           {"baseline_store_only_per_s", n / store_s},
                           {"baseline_verify_only_per_s", n / verify_s}}
                        .dump()
                        .c_str());
  std::filesystem::remove_all(dir);
}

} // namespace

int main(int argc, char** argv) {
  const size_t participants = arg(argc, argv, "--participants", 1000);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto sync = spawn_sync(sys, nullptr);
  {
    services::sync_http_options o;
    o.http.threads_max = std::max<size_t>(o.http.threads_max, participants + 64);
    services::sync_http_server server{sys, sync, o};
    barrier_figure(sys, sync, server.url(), participants);
    pubsub_figure(sys, sync, server.url(), arg(argc, argv, "--messages", 5000),
                  arg(argc, argv, "--subscribers", 4));
  }
  caf::anon_send_exit(sync, caf::exit_reason::user_shutdown);
  registry_figure(arg(argc, argv, "--submissions", 4000), arg(argc, argv, "--threads", 8));
  return 0;
}
