// bench_jobs: the job engine's speed figures (issue 6), one JSON line each, beside their
// targets and published figures for scale:
//   - in-process jobs/s through create -> process -> verify, no-op workers, SQLite store on
//     (target >= 50,000/s on this 2-core machine);
//   - HTTP claim+complete cycles/s with 8 concurrent keep-alive clients (target >= 20,000/s),
//     and the p50/p99 claim latency.
// Published single-machine figures: Sidekiq ~23,500 jobs/s, River ~46,000 jobs/s.
// Usage: bench_jobs [--jobs N] [--http-cycles N]

#include "actors/jobs/engine.hpp"
#include "actors/jobs/http_server.hpp"
#include "actors/jobs/store.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace troupe::jobs;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

fs::path fresh_db(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("troupe-bench-jobs-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto p = dir / (name + ".db");
  for (auto ext : {"", "-wal", "-shm"})
    fs::remove(p.string() + ext);
  return p;
}

void bench_in_process(int64_t jobs) {
  auto path = fresh_db("inproc");
  auto db = store::open(path.string());
  engine e(db.get(), {1, 4096});
  type_policy p;
  p.type = "noop";
  p.verify = true;
  p.verification_poll_ms = 0;
  e.define_type(p);
  const std::string worker = "w";
  const time_ms now = 1;
  const auto t0 = clock_type::now();
  int64_t completed = 0;
  constexpr int64_t batch = 1024; // a producer enqueues in bursts; workers drain
  for (int64_t base = 0; base < jobs; base += batch) {
    for (int64_t i = base; i < std::min(jobs, base + batch); ++i)
      e.enqueue({"noop", std::nullopt, "{}", {}, {}}, now);
    while (auto t = e.claim("noop", worker, now)) {
      if (t->which == phase::process) {
        e.complete(t->id, worker, "{}", now);
      } else {
        e.verify(t->id, worker, verdict::pass, "", now);
        ++completed;
      }
    }
  }
  e.commit();
  const double s = seconds_since(t0);
  nlohmann::json line = {
    {"bench", "jobs_in_process"},
    {"jobs", completed},
    {"phases", "create->process->verify"},
    {"store", "sqlite wal, batched commits (4096 rows)"},
    {"rows_written", db->rows_written()},
    {"commits", db->commits()},
    {"seconds", s},
    {"jobs_per_s", static_cast<double>(completed) / s},
    {"target_jobs_per_s", 50000},
    {"published", {{"sidekiq_jobs_per_s", 23500}, {"river_jobs_per_s", 46000}}}};
  std::cout << line.dump() << std::endl;
}

void bench_http(int64_t cycles, int clients, bool durable) {
  auto path = fresh_db("http");
  auto db = store::open(path.string());
  // durable=false is a diagnostic: the same server with no store, to show what the HTTP
  // layer costs by itself and what group commit adds.
  engine e(durable ? db.get() : nullptr, {1, SIZE_MAX}); // the server's committer writes
  type_policy p;
  p.type = "noop";
  p.verify = false;
  p.lease_ms = 600'000;
  e.define_type(p);
  for (int64_t i = 0; i < cycles; ++i)
    e.enqueue({"noop", std::nullopt, "{}", {}, {}}, 1);
  e.commit();
  http_server::options o;
  o.port = 0;
  http_server server(e, nullptr, o);
  const int port = server.start();

  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> errors{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_read_timeout(30);
      const std::string worker = "bench-" + std::to_string(c);
      const std::string claim_body = R"({"worker":")" + worker + R"(","type":"noop"})";
      const std::string complete_body = R"({"worker":")" + worker + R"(","result":{}})";
      auto& lat = latencies[static_cast<size_t>(c)];
      lat.reserve(static_cast<size_t>(cycles / clients + 16));
      for (;;) {
        const auto a = clock_type::now();
        auto r = cli.Post("/v1/claim", claim_body, "application/json");
        lat.push_back(seconds_since(a) * 1e6);
        if (!r) {
          if (++errors > 100)
            return;
          continue;
        }
        if (r->status == 204)
          return;
        const auto id = nlohmann::json::parse(r->body)["id"].get<int64_t>();
        auto d = cli.Post(("/v1/jobs/" + std::to_string(id) + "/complete").c_str(), complete_body,
                          "application/json");
        if (d && d->status == 200)
          ++done;
        else
          ++errors;
      }
    });
  for (auto& t : threads)
    t.join();
  const double s = seconds_since(t0);
  server.stop();
  std::vector<double> all;
  for (auto& l : latencies)
    all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))];
  };
  nlohmann::json line = {
    {"bench",
     durable ? "jobs_http_claim_complete" : "jobs_http_claim_complete_no_store_diagnostic"},
    {"clients", clients},
    {"keep_alive", true},
    {"cycles", done.load()},
    {"errors", errors.load()},
    {"store", durable ? "sqlite wal, group commit before every answer" : "none (diagnostic)"},
    {"commits", db->commits()},
    {"seconds", s},
    {"cycles_per_s", static_cast<double>(done.load()) / s},
    {"target_cycles_per_s", 20000},
    {"claim_latency_us_p50", pct(0.50)},
    {"claim_latency_us_p99", pct(0.99)},
    {"published", {{"sidekiq_jobs_per_s", 23500}, {"river_jobs_per_s", 46000}}}};
  std::cout << line.dump() << std::endl;
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  int64_t jobs = 300'000, http_cycles = 40'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--jobs")
      jobs = std::stoll(argv[i + 1]);
    else if (a == "--http-cycles")
      http_cycles = std::stoll(argv[i + 1]);
  }
  bench_in_process(jobs);
  bench_http(http_cycles, 8, true);
  bench_http(http_cycles, 8, false);
  return 0;
}
