// bench_jobs: the job engine's speed figures (issue 6), one JSON line each, beside their
// targets and published figures for scale:
//   - in-process jobs/s through create -> process -> verify, no-op workers, SQLite store on
//     (target >= 50,000/s on this 2-core machine);
//   - HTTP claim+complete cycles/s with 8 concurrent keep-alive clients (target >= 20,000/s),
//     and the p50/p99 claim latency, with the process CPU time it took and the machine's
//     load; on the epoll server (http_server) with light raw-socket clients (the figure),
//     without a store (diagnostic), with cpp-httplib clients, and the old cpp-httplib server
//     (the baseline); a last line puts the figure beside its target and that baseline.
//   The clients run in this process and share the two cores with the server: the figure
//   is what the server does with what is left, under whatever else the machine runs.
// Published single-machine figures: Sidekiq ~23,500 jobs/s, River ~46,000 jobs/s.
//   - PostgreSQL (issue 18; --pg 0 skips it): in-process and HTTP claim+complete on the
//     PostgreSQL store of a throwaway durable cluster (fsync on), beside a naive PostgreSQL
//     queue measured in the same run (one UPDATE ... RETURNING per claim, one transaction per
//     completion, 1 and 8 clients); the replay face's GET /job?nextjob on both stores;
//     and 1, 2 and 3 orchestrators sharing one database (--shared-cycles each), over HTTP
//     and in process.
// Usage: bench_jobs [--jobs N] [--http-cycles N] [--baseline-cycles N] [--diagnostics 0|1]
//                   [--pg 0|1] [--naive-cycles N] [--replay-requests N] [--shared-cycles N]
// (0 skips a line; --diagnostics 0 skips the no-store and httplib-client lines)

#include "benchmarks/httplib_server.hpp"
#include "jobs/engine.hpp"
#include "jobs/engine_actor.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "tests/support/postgres_cluster.hpp"

#include <libpq-fe.h>

#include <caf/all.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

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

/// What else the machine was doing: the 1-minute load average and the runnable tasks now
/// (this process's own threads included), from /proc.
nlohmann::json machine_load() {
  nlohmann::json out = nlohmann::json::object();
  if (std::ifstream in("/proc/loadavg"); in) {
    double one = 0;
    std::string five, fifteen, running;
    in >> one >> five >> fifteen >> running;
    out["loadavg_1m"] = one;
    out["tasks_runnable/total"] = running;
  }
  return out;
}

/// Published figures of peers, for scale (issue 18): not measured here.
nlohmann::json published() {
  return {{"sidekiq_jobs_per_s", 23500},
          {"river_jobs_per_s_8_core_laptop", 46000},
          {"graphile_worker_jobs_per_s_large_machine", 183000},
          {"oban_jobs_per_s", 17000}};
}

/// A "noop" type with a verify phase, the in-process lines use.
type_policy noop_policy() {
  type_policy p;
  p.type = "noop";
  p.verify = true;
  p.verification_poll_ms = 0;
  return p;
}

/// `where`: "" for a fresh SQLite file, else a PostgreSQL URL (a fresh database). Returns
/// jobs/s.
double bench_in_process(int64_t jobs, const std::string& where = "") {
  auto db = store::open(where.empty() ? fresh_db("inproc").string() : where);
  engine e(db.get(), {1, 4096});
  e.define_type(noop_policy());
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
    {"bench", where.empty() ? "jobs_in_process" : "jobs_in_process_postgresql"},
    {"jobs", completed},
    {"phases", "create->process->verify"},
    {"store", where.empty()
                ? "sqlite wal, batched commits (4096 rows)"
                : "postgresql (fsync on), batched commits (4096 rows), 1 pipeline each"},
    {"rows_written", db->rows_written()},
    {"commits", db->commits()},
    {"seconds", s},
    {"jobs_per_s", static_cast<double>(completed) / s},
    {"target_jobs_per_s", 50000},
    {"published", published()},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(completed) / s;
}

/// epoll: http_server, its engine actor resumed on the loop thread when idle (the default);
/// epoll_scheduler_thread: the same server with the actor always on its CAF scheduler thread
/// (engine_on_loop_thread = false: two thread hand-offs per round, a diagnostic).
enum class server_kind { epoll, epoll_scheduler_thread, httplib_baseline };
enum class client_kind { raw_epoll, httplib_threads };

/// Process CPU time (user + system) in seconds: the machine is shared, so a figure is read
/// beside what it cost.
double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct client_result {
  int64_t done = 0;
  int64_t errors = 0;
  std::vector<double> claim_latency_us;
};

std::string post_request(const std::string& path, const std::string& body) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// Light clients: `clients` keep-alive connections driven by one epoll thread over raw
/// sockets, one request in flight per connection (claim, then complete, then claim ...),
/// so that the figure measures the server and not a client library. The client shares the
/// two cores with the server, so it is kept lean: requests are prebuilt or formatted into a
/// fixed buffer, answers are parsed in place, nothing is allocated per request.
client_result run_raw_clients(const std::vector<int>& ports, int clients) {
  struct conn {
    int fd = -1;
    std::string claim;           ///< the whole claim request
    std::string complete_suffix; ///< "/complete HTTP/1.1 ... body" after the job id
    char in[8192];
    size_t in_len = 0;
    bool claiming = true;
    clock_type::time_point sent;
  };
  client_result res;
  res.claim_latency_us.reserve(1 << 20);
  std::vector<conn> cs(static_cast<size_t>(clients));
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  auto send_all = [&](conn& c, const char* data, size_t n) {
    size_t off = 0;
    for (int tries = 0; off < n && tries < 1000; ++tries) { // blocking socket
      const ssize_t w = ::send(c.fd, data + off, n - off, MSG_NOSIGNAL);
      if (w <= 0)
        return false;
      off += static_cast<size_t>(w);
    }
    return off == n;
  };
  int open = 0;
  for (int i = 0; i < clients; ++i) {
    auto& c = cs[static_cast<size_t>(i)];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(ports[static_cast<size_t>(i) % ports.size()]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(c.fd);
      c.fd = -1;
      ++res.errors;
      continue;
    }
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const std::string worker = "bench-" + std::to_string(i);
    c.claim = post_request("/v1/claim", R"({"worker":")" + worker + R"(","type":"noop"})");
    const std::string body = R"({"worker":")" + worker + R"(","result":{}})";
    c.complete_suffix = "/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        "application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    c.sent = clock_type::now();
    if (send_all(c, c.claim.data(), c.claim.size()))
      ++open;
    else
      ++res.errors;
  }
  auto finish = [&](conn& c) {
    --open;
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
  };
  const auto deadline = clock_type::now() + std::chrono::minutes(5);
  epoll_event evs[64];
  char request[512];
  while (open > 0 && res.errors < 100 && clock_type::now() < deadline) {
    const int n = ::epoll_wait(ep, evs, 64, 1000);
    for (int k = 0; k < n; ++k) {
      auto& c = *static_cast<conn*>(evs[k].data.ptr);
      const ssize_t r = ::recv(c.fd, c.in + c.in_len, sizeof c.in - c.in_len, 0);
      if (r <= 0) {
        ++res.errors;
        finish(c);
        continue;
      }
      c.in_len += static_cast<size_t>(r);
      // One request is in flight, so the buffer holds at most one answer.
      const std::string_view in(c.in, c.in_len);
      const auto end = in.find("\r\n\r\n");
      if (end == std::string_view::npos)
        continue;
      const int status = std::atoi(c.in + 9);
      size_t length = 0;
      if (auto cl = in.find("Content-Length: "); cl != std::string_view::npos && cl < end)
        length = std::strtoull(c.in + cl + 16, nullptr, 10);
      if (c.in_len < end + 4 + length)
        continue;
      const std::string_view body = in.substr(end + 4, length);
      c.in_len = 0;
      if (c.claiming) {
        res.claim_latency_us.push_back(seconds_since(c.sent) * 1e6);
        if (status != 200) { // 204: the queue is empty
          finish(c);
          continue;
        }
        const auto id_at = body.find("\"id\":");
        const long long id =
          id_at == std::string_view::npos ? 0 : std::strtoll(body.data() + id_at + 5, nullptr, 10);
        const int head = std::snprintf(request, sizeof request, "POST /v1/jobs/%lld", id);
        std::memcpy(request + head, c.complete_suffix.data(), c.complete_suffix.size());
        c.claiming = false;
        if (!send_all(c, request, static_cast<size_t>(head) + c.complete_suffix.size()))
          ++res.errors;
      } else {
        if (status == 200)
          ++res.done;
        else
          ++res.errors;
        c.claiming = true;
        c.sent = clock_type::now();
        if (!send_all(c, c.claim.data(), c.claim.size()))
          ++res.errors;
      }
    }
  }
  for (auto& c : cs)
    if (c.fd >= 0)
      ::close(c.fd);
  ::close(ep);
  return res;
}

client_result run_raw_clients(int port, int clients) {
  return run_raw_clients(std::vector<int>{port}, clients);
}

/// cpp-httplib clients, one thread each (the clients of the first benchmark).
client_result run_httplib_clients(int port, int clients) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> errors{0};
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
  client_result res;
  res.done = done.load();
  res.errors = errors.load();
  for (auto& l : latencies)
    res.claim_latency_us.insert(res.claim_latency_us.end(), l.begin(), l.end());
  return res;
}

/// Returns cycles/s.
double bench_http(const std::string& name, int64_t cycles, int clients, server_kind sk,
                  client_kind ck, bool durable, const std::string& where = "") {
  auto db = store::open(where.empty() ? fresh_db("http-" + name).string() : where);
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
  const uint64_t commits_before = db->commits();
  std::unique_ptr<http_server> fast;
  std::unique_ptr<httplib_server> baseline;
  int port = 0;
  if (sk != server_kind::httplib_baseline) {
    http_server::options o;
    o.port = 0;
    o.engine_on_loop_thread = sk == server_kind::epoll;
    fast = std::make_unique<http_server>(e, nullptr, o);
    port = fast->start();
  } else {
    httplib_server::options o;
    o.port = 0;
    baseline = std::make_unique<httplib_server>(e, nullptr, o);
    port = baseline->start();
  }
  const double cpu0 = process_cpu_s();
  const auto t0 = clock_type::now();
  client_result r = ck == client_kind::raw_epoll ? run_raw_clients(port, clients)
                                                 : run_httplib_clients(port, clients);
  const double s = seconds_since(t0);
  const double cpu = process_cpu_s() - cpu0;
  double server_cpu = -1, commit_s = 0;
  uint64_t requests = 0;
  if (fast) {
    fast->stop();
    server_cpu = fast->stats().loop_cpu_s;
    requests = fast->stats().requests;
    commit_s = fast->stats().commit_s;
  } else {
    baseline->stop();
  }
  auto& all = r.claim_latency_us;
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))];
  };
  const uint64_t commits = db->commits() - commits_before;
  nlohmann::json line = {
    {"bench", name},
    {"server", sk == server_kind::epoll ? "epoll event loop, 1 thread (http_server), engine actor "
                                          "resumed on the loop thread, one message per round"
               : sk == server_kind::epoll_scheduler_thread
                 ? "epoll event loop (http_server), engine actor on its CAF scheduler thread, "
                   "one message per round"
                 : "cpp-httplib, thread per connection (httplib_server, the old server)"},
    {"clients",
     ck == client_kind::raw_epoll
       ? std::to_string(clients) + " keep-alive connections, raw sockets, driven by 1 epoll thread"
       : std::to_string(clients) + " cpp-httplib keep-alive clients, 1 thread each"},
    {"keep_alive", true},
    {"cycles", r.done},
    {"errors", r.errors},
    {"store", !durable        ? "none (diagnostic)"
              : where.empty() ? "sqlite wal, group commit before every answer"
                              : "postgresql (fsync on), group commit before every answer"},
    {"commits", commits},
    {"seconds", s},
    {"cycles_per_s", static_cast<double>(r.done) / s},
    {"target_cycles_per_s", 20000},
    {"claim_latency_us_p50", pct(0.50)},
    {"claim_latency_us_p99", pct(0.99)},
    {"process_cpu_s", cpu},
    {"cpu_us_per_cycle", r.done > 0 ? cpu / static_cast<double>(r.done) * 1e6 : 0.0},
    {"published", published()}};
  if (fast) {
    line["server_thread_cpu_s"] = server_cpu;
    line["server_thread_switches"] = {{"waited", fast->stats().loop_switches_waited},
                                      {"preempted", fast->stats().loop_switches_preempted}};
    line["commit_wall_s"] = commit_s;
    line["requests_per_commit"] =
      commits > 0 ? static_cast<double>(requests) / static_cast<double>(commits) : 0.0;
    const auto st = fast->stats();
    line["engine_calls"] = st.engine_calls;
    line["engine_calls_in_line"] = st.engine_calls_in_line;
    line["requests_per_engine_call"] =
      st.engine_calls > 0 ? static_cast<double>(requests) / static_cast<double>(st.engine_calls)
                          : 0.0;
  }
  line["machine"] = machine_load();
  std::cout << line.dump() << std::endl;
  return static_cast<double>(r.done) / s;
}

/// The naive PostgreSQL queue a durable claim+complete is measured against (issue 18): one
/// `UPDATE ... RETURNING` per claim (SKIP LOCKED, so concurrent clients never share a job),
/// one transaction per completion, `clients` threads with a connection each. Returns
/// cycles/s.
double bench_pg_naive(const std::string& url, int64_t cycles, int clients) {
  PGconn* setup = PQconnectdb(url.c_str());
  auto run = [](PGconn* c, const char* sql) { PQclear(PQexec(c, sql)); };
  run(setup, "SET client_min_messages = warning");
  run(setup, "DROP TABLE IF EXISTS naive_jobs");
  run(setup, "CREATE TABLE naive_jobs(id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL, worker "
             "TEXT NOT NULL DEFAULT '', fence BIGINT NOT NULL DEFAULT 0, payload TEXT NOT NULL, "
             "result TEXT NOT NULL DEFAULT '')");
  run(setup, "CREATE INDEX ON naive_jobs(id) WHERE status = 'created'");
  const std::string fill = "INSERT INTO naive_jobs(status, payload) SELECT 'created', '{}' FROM "
                           "generate_series(1," +
                           std::to_string(cycles) + ")";
  run(setup, fill.c_str());
  run(setup, "VACUUM ANALYZE naive_jobs");
  std::atomic<int64_t> done{0}, errors{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < clients; ++w)
    threads.emplace_back([&, w] {
      PGconn* c = PQconnectdb(url.c_str());
      const std::string worker = "w" + std::to_string(w);
      PQclear(PQprepare(c, "claim",
                        "UPDATE naive_jobs SET status='processing', worker=$1, fence=fence+1 "
                        "WHERE id = (SELECT id FROM naive_jobs WHERE status='created' ORDER BY "
                        "id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, fence",
                        1, nullptr));
      PQclear(PQprepare(c, "complete",
                        "UPDATE naive_jobs SET status='completed', result='{}' WHERE id=$1 AND "
                        "fence=$2 AND status='processing'",
                        2, nullptr));
      for (;;) {
        const char* v[] = {worker.c_str()};
        PGresult* r = PQexecPrepared(c, "claim", 1, v, nullptr, nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
          errors += PQresultStatus(r) != PGRES_TUPLES_OK;
          PQclear(r);
          break;
        }
        const std::string id = PQgetvalue(r, 0, 0), fence = PQgetvalue(r, 0, 1);
        PQclear(r);
        const char* cv[] = {id.c_str(), fence.c_str()};
        r = PQexecPrepared(c, "complete", 2, cv, nullptr, nullptr, 0);
        if (PQresultStatus(r) == PGRES_COMMAND_OK && std::string(PQcmdTuples(r)) == "1")
          ++done;
        else
          ++errors;
        PQclear(r);
      }
      PQfinish(c);
    });
  for (auto& t : threads)
    t.join();
  const double secs = seconds_since(t0);
  PQfinish(setup);
  nlohmann::json line = {
    {"bench", "jobs_pg_naive_baseline"},
    {"what", "one UPDATE ... FOR UPDATE SKIP LOCKED ... RETURNING per claim, one transaction "
             "per completion (autocommit), prepared statements"},
    {"clients", std::to_string(clients) + " threads, one connection each, in this process"},
    {"store", "postgresql (fsync on)"},
    {"cycles", done.load()},
    {"errors", errors.load()},
    {"seconds", secs},
    {"cycles_per_s", static_cast<double>(done.load()) / secs},
    {"published", published()},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(done.load()) / secs;
}

/// `orchestrators` engines sharing one PostgreSQL database (store::join_shared), each with a
/// store connection of its own: the first feeds `cycles` jobs, and every one then serves.
struct shared_campaign {
  std::vector<std::unique_ptr<store>> stores;
  std::vector<std::unique_ptr<engine>> engines;
  shared_campaign(const std::string& url, int64_t cycles, int orchestrators) {
    for (int i = 0; i < orchestrators; ++i) {
      stores.push_back(store::open(url));
      stores.back()->join_shared();
      engines.push_back(
        std::make_unique<engine>(stores.back().get(), engine::options{1, SIZE_MAX}));
      type_policy p;
      p.type = "noop";
      p.verify = false;
      p.lease_ms = 600'000;
      engines.back()->define_type(p);
      engines.back()->load(1);
    }
    engines[0]->begin_round(1);
    for (int64_t i = 0; i < cycles; ++i)
      engines[0]->enqueue({"noop", std::nullopt, "{}", {}, {}}, 1);
    engines[0]->commit();
  }
  uint64_t commits() const {
    uint64_t n = 0;
    for (const auto& s : stores)
      n += s->commits();
    return n;
  }
};

/// Durable claim+complete over HTTP with `orchestrators` servers on one PostgreSQL database
/// (several orchestrators, docs/jobs.md), 8 light clients spread over them. Returns cycles/s.
double bench_pg_shared_http(const std::string& url, int64_t cycles, int orchestrators) {
  shared_campaign c(url, cycles, orchestrators);
  const uint64_t commits_before = c.commits();
  std::vector<std::unique_ptr<http_server>> servers;
  std::vector<int> ports;
  for (auto& e : c.engines) {
    http_server::options o;
    o.port = 0;
    servers.push_back(std::make_unique<http_server>(*e, nullptr, o));
    ports.push_back(servers.back()->start());
  }
  const double cpu0 = process_cpu_s();
  const auto t0 = clock_type::now();
  const client_result r = run_raw_clients(ports, 8);
  const double secs = seconds_since(t0);
  const double cpu = process_cpu_s() - cpu0;
  uint64_t requests = 0;
  for (auto& s : servers) {
    s->stop();
    requests += s->stats().requests;
  }
  const uint64_t commits = c.commits() - commits_before;
  nlohmann::json line = {
    {"bench", "jobs_http_claim_complete_postgresql_shared"},
    {"orchestrators", orchestrators},
    {"server", "epoll event loop (http_server) per orchestrator, in this process, each with its "
               "own database connection; rounds under the campaign lock"},
    {"clients", "8 keep-alive connections, raw sockets, spread over the orchestrators"},
    {"cycles", r.done},
    {"errors", r.errors},
    {"store", "postgresql (fsync on), shared: a round (lock, read what changed, writes, "
              "commit) before every group of answers"},
    {"commits", commits},
    {"requests_per_commit",
     commits > 0 ? static_cast<double>(requests) / static_cast<double>(commits) : 0.0},
    {"seconds", secs},
    {"cycles_per_s", static_cast<double>(r.done) / secs},
    {"process_cpu_s", cpu},
    {"published", published()},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(r.done) / secs;
}

/// Durable claim+complete in process with `orchestrators` engines on one PostgreSQL
/// database, one thread each: every round completes the tasks the engine claimed in its
/// previous round and claims up to 64 more (64 workers per engine, no HTTP). Returns
/// cycles/s.
double bench_pg_shared_in_process(const std::string& url, int64_t cycles, int orchestrators) {
  shared_campaign c(url, cycles, orchestrators);
  const uint64_t commits_before = c.commits();
  std::atomic<int64_t> done{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (auto& ep : c.engines)
    threads.emplace_back([&done, e = ep.get()] {
      std::vector<task> held;
      for (time_ms now = 2;; ++now) {
        e->begin_round(now);
        for (const auto& t : held)
          done += e->complete(t.id, "w", "{}", now, t.fence) == outcome::ok;
        held.clear();
        while (held.size() < 64)
          if (auto t = e->claim("noop", "w", now))
            held.push_back(std::move(*t));
          else
            break;
        e->commit();
        if (held.empty())
          break;
      }
    });
  for (auto& t : threads)
    t.join();
  const double secs = seconds_since(t0);
  const uint64_t commits = c.commits() - commits_before;
  nlohmann::json line = {
    {"bench", "jobs_in_process_claim_complete_postgresql_shared"},
    {"orchestrators", orchestrators},
    {"what", "one engine and thread per orchestrator, in this process; each round completes "
             "the previous round's claims and claims up to 64"},
    {"store", "postgresql (fsync on), shared rounds under the campaign lock"},
    {"cycles", done.load()},
    {"commits", commits},
    {"seconds", secs},
    {"cycles_per_s", static_cast<double>(done.load()) / secs},
    {"published", published()},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(done.load()) / secs;
}

/// The replay-test face's hottest read, `GET /job?nextjob`, with `clients` cpp-httplib
/// keep-alive clients for `requests` requests in all, on a campaign of 2,000 slices in the
/// store at `where` ("" SQLite), through the server's engine actor (a message per round).
/// Returns requests/s.
double bench_replay_nextjob(int64_t requests, int clients, const std::string& where) {
  const auto config = fresh_db("replay-config").replace_extension(".json");
  {
    auto slices = nlohmann::json::array();
    for (int i = 0; i < 2000; ++i)
      slices.push_back({{"start_block_id", 1000 * i},
                        {"end_block_id", 1000 * (i + 1)},
                        {"snapshot_path", "s3://bench/snapshot-" + std::to_string(i) + ".bin"},
                        {"storage_type", "s3"},
                        {"expected_integrity_hash", std::string(64, 'a')},
                        {"leap_version", "5.0.2"}});
    std::ofstream(config) << slices.dump(4);
  }
  auto db = store::open(where.empty() ? fresh_db("replay").string() : where);
  engine e(db.get(), {1, SIZE_MAX});
  replay_service svc(e, {0, ""});
  e.load(1);
  svc.load(load_replay_config(config.string()), 1);
  e.commit();
  http_server::options o;
  o.port = 0;
  http_server server(e, &svc, o);
  const int port = server.start();
  std::atomic<int64_t> next{0}, ok{0}, errors{0};
  const auto t0 = clock_type::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < clients; ++w)
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      while (next++ < requests) {
        auto r = c.Get("/job?nextjob", {{"Accept", "application/json"}});
        if (r && r->status == 200)
          ++ok;
        else
          ++errors;
      }
    });
  for (auto& t : threads)
    t.join();
  const double secs = seconds_since(t0);
  server.stop();
  const auto st = server.stats();
  nlohmann::json line = {
    {"bench", where.empty() ? "jobs_replay_nextjob_sqlite" : "jobs_replay_nextjob_postgresql"},
    {"clients", std::to_string(clients) + " cpp-httplib keep-alive clients"},
    {"engine_calls", st.engine_calls},
    {"engine_calls_in_line", st.engine_calls_in_line},
    {"requests", ok.load()},
    {"errors", errors.load()},
    {"seconds", secs},
    {"requests_per_s", static_cast<double>(ok.load()) / secs},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(ok.load()) / secs;
}

// -- the message hop (issue 18 item 6) ------------------------------------------------------

/// Claim+complete+verify of `jobs` no-op jobs through the engine actor (jobs/engine_actor),
/// from one client that keeps `burst` requests in flight. `group_commit`: the actor commits
/// each burst before answering (the live behaviour); without it, commits come every 4096
/// changed jobs as in bench_in_process, so the difference to that line is the hop alone.
/// Returns jobs/s.
double bench_actor_hop(int64_t jobs, int burst, bool group_commit) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto db = store::open(fresh_db(group_commit ? "hop-gc" : "hop").string());
  auto host = std::make_shared<engine_host>();
  host->e = std::make_shared<engine>(db.get(), engine::options{1, 4096});
  host->e->define_type(noop_policy());
  host->epoch_ms = 1;
  host->group_commit = group_commit;
  auto actor = spawn_engine(sys, host);
  caf::scoped_actor self{sys};
  const std::string worker = "w";
  int64_t completed = 0;
  const auto t0 = clock_type::now();
  for (int64_t base = 0; base < jobs; base += burst) {
    const int64_t n = std::min<int64_t>(burst, jobs - base);
    for (int64_t i = 0; i < n; ++i)
      self->send(actor, engine_enqueue_atom::value, std::string("noop"), std::string("{}"));
    int64_t enqueued = 0;
    self->receive_for(enqueued, n)([](job_id) {});
    // Two phases per job: claim, then complete (process) or verify.
    for (int round = 0; round < 2; ++round) {
      for (int64_t i = 0; i < n; ++i)
        self->send(actor, engine_claim_atom::value, std::string("noop"), worker);
      std::vector<engine_task> tasks;
      int64_t got = 0;
      self->receive_for(got, n)([&](const engine_task& t) { tasks.push_back(t); });
      for (const auto& t : tasks) {
        if (t.which == static_cast<uint8_t>(phase::process))
          self->send(actor, engine_complete_atom::value, t.id, worker, std::string("{}"), t.fence);
        else
          self->send(actor, engine_verify_atom::value, t.id, worker,
                     static_cast<uint8_t>(verdict::pass), std::string(), t.fence);
      }
      got = 0;
      self->receive_for(got, static_cast<int64_t>(tasks.size()))([](uint8_t) {});
    }
    completed += n;
  }
  self
    ->request(actor, caf::infinite, engine_call_atom::value,
              engine_call{[](engine_host& h, time_ms) { h.e->commit(); }})
    .receive([](bool) {}, [](caf::error&) {});
  const double s = seconds_since(t0);
  const auto done = static_cast<int64_t>(host->e->count(job_status::completed));
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  nlohmann::json line = {
    {"bench", group_commit ? "jobs_in_process_actor_group_commit" : "jobs_in_process_actor"},
    {"jobs", done},
    {"phases", "create->process->verify"},
    {"path", "messages to the engine actor from one scoped actor, " + std::to_string(burst) +
               " requests in flight"},
    {"store", group_commit ? "sqlite wal, one commit per burst, answers after it"
                           : "sqlite wal, batched commits (4096 rows), as jobs_in_process"},
    {"commits", db->commits()},
    {"seconds", s},
    {"jobs_per_s", static_cast<double>(done) / s},
    {"machine", machine_load()}};
  std::cout << line.dump() << std::endl;
  return static_cast<double>(done) / s;
}

/// The replay face's GET /job?nextjob in process: `replay_service::handle` called directly
/// (today's path behind the HTTP server) and through the engine actor (an engine_call per
/// request, `burst` in flight), same campaign, same run. Returns {direct, actor} requests/s.
std::pair<double, double> bench_replay_nextjob_hop(int64_t requests, int burst) {
  std::vector<replay_slice> slices;
  for (int i = 0; i < 2000; ++i) {
    replay_slice r;
    r.start_block_id = 1000 * i;
    r.end_block_id = 1000 * (i + 1);
    r.snapshot_path = "s3://bench/snapshot-" + std::to_string(i) + ".bin";
    r.storage_type = "s3";
    r.expected_integrity_hash = std::string(64, 'a');
    r.leap_version = "5.0.2";
    slices.push_back(r);
  }
  auto db = store::open(fresh_db("replay-hop").string());
  auto host = std::make_shared<engine_host>();
  host->e = std::make_shared<engine>(db.get(), engine::options{1, SIZE_MAX});
  host->replay = std::make_shared<replay_service>(*host->e, replay_service::options{0, ""});
  host->replay->load(slices, 1);
  host->e->commit();
  host->epoch_ms = 1;
  http_request req;
  req.path = "/job";
  req.params = {{"nextjob", ""}};
  req.headers = {{"Accept", "application/json"}};
  int64_t ok = 0;
  auto t0 = clock_type::now();
  for (int64_t i = 0; i < requests; ++i)
    ok += host->replay->handle(req, 1).status == 200;
  const double direct = static_cast<double>(ok) / seconds_since(t0);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actor = spawn_engine(sys, host);
  caf::scoped_actor self{sys};
  auto ok_via = std::make_shared<std::atomic<int64_t>>(0);
  const engine_call call{[req, ok_via](engine_host& h, time_ms now) {
    *ok_via += h.replay->handle(req, now).status == 200;
  }};
  t0 = clock_type::now();
  for (int64_t base = 0; base < requests; base += burst) {
    const int64_t n = std::min<int64_t>(burst, requests - base);
    for (int64_t i = 0; i < n; ++i)
      self->send(actor, engine_call_atom::value, call);
    int64_t got = 0;
    self->receive_for(got, n)([](bool) {});
  }
  const double via = static_cast<double>(ok_via->load()) / seconds_since(t0);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  std::cout << nlohmann::json{{"bench", "jobs_replay_nextjob_in_process"},
                              {"requests", requests},
                              {"direct_requests_per_s", direct},
                              {"actor_requests_per_s", via},
                              {"actor_requests_in_flight", burst},
                              {"ok_direct", ok},
                              {"ok_actor", ok_via->load()},
                              {"machine", machine_load()}}
                 .dump()
            << std::endl;
  return {direct, via};
}

} // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  int64_t jobs = 300'000, http_cycles = 40'000, baseline_cycles = 20'000, diagnostics = 1;
  int64_t pg = 1, naive_cycles = 20'000, replay_requests = 40'000, shared_cycles = 5'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--jobs")
      jobs = std::stoll(argv[i + 1]);
    else if (a == "--http-cycles")
      http_cycles = std::stoll(argv[i + 1]);
    else if (a == "--baseline-cycles")
      baseline_cycles = std::stoll(argv[i + 1]);
    else if (a == "--diagnostics")
      diagnostics = std::stoll(argv[i + 1]);
    else if (a == "--pg")
      pg = std::stoll(argv[i + 1]);
    else if (a == "--naive-cycles")
      naive_cycles = std::stoll(argv[i + 1]);
    else if (a == "--replay-requests")
      replay_requests = std::stoll(argv[i + 1]);
    else if (a == "--shared-cycles")
      shared_cycles = std::stoll(argv[i + 1]);
  }
  if (jobs > 0) {
    // Today's direct calls and the same work as messages to the engine actor, same run.
    const double direct = bench_in_process(jobs);
    const double hop1 = bench_actor_hop(jobs / 3, 1, false);
    const double hop64 = bench_actor_hop(jobs, 64, false);
    const double gc64 = bench_actor_hop(jobs, 64, true);
    std::cout << nlohmann::json{{"bench", "jobs_actor_hop_summary"},
                                {"direct_jobs_per_s", direct},
                                {"actor_1_in_flight_jobs_per_s", hop1},
                                {"actor_64_in_flight_jobs_per_s", hop64},
                                {"actor_64_in_flight_group_commit_jobs_per_s", gc64},
                                {"hop_cost_us_per_message_1_in_flight",
                                 hop1 > 0 && direct > 0 ? (1e6 / hop1 - 1e6 / direct) / 5 : 0},
                                {"messages_per_job", 5},
                                {"machine", machine_load()}}
                   .dump()
              << std::endl;
  }
  if (replay_requests > 0)
    bench_replay_nextjob_hop(replay_requests, 64);
  // The figure: the epoll server, light clients.
  double figure = 0, baseline = 0;
  if (http_cycles > 0)
    figure = bench_http("jobs_http_claim_complete", http_cycles, 8, server_kind::epoll,
                        client_kind::raw_epoll, true);
  if (http_cycles > 0 && diagnostics > 0)
    bench_http("jobs_http_claim_complete_no_store_diagnostic", http_cycles, 8, server_kind::epoll,
               client_kind::raw_epoll, false);
  // The message hop's worst case: the engine actor always on its scheduler thread.
  if (http_cycles > 0 && diagnostics > 0)
    bench_http("jobs_http_claim_complete_actor_on_scheduler_thread", http_cycles, 8,
               server_kind::epoll_scheduler_thread, client_kind::raw_epoll, true);
  // The same server under the old benchmark's clients (8 httplib threads): what the client
  // side costs on 2 cores.
  if (http_cycles > 0 && diagnostics > 0)
    bench_http("jobs_http_claim_complete_httplib_clients", http_cycles, 8, server_kind::epoll,
               client_kind::httplib_threads, true);
  // The baseline: the old cpp-httplib server with the old clients, measured in this run.
  if (baseline_cycles > 0)
    baseline = bench_http("jobs_http_claim_complete_baseline_httplib", baseline_cycles, 8,
                          server_kind::httplib_baseline, client_kind::httplib_threads, true);
  // PostgreSQL (issue 18): a durable throwaway cluster under the build directory
  // (tests/support/postgres_cluster.hpp), the same figures beside the naive baseline.
  double pg_http = 0, naive = 0;
  if (pg > 0) {
    troupe::test::postgres_cluster cluster({/*durable*/ true, 100});
    if (!cluster.ok()) {
      std::cout << nlohmann::json{{"bench", "jobs_postgresql"}, {"skipped", cluster.why()}}.dump()
                << std::endl;
    } else {
      if (jobs > 0)
        bench_in_process(jobs / 3, cluster.create_database("bench_inproc"));
      if (http_cycles > 0)
        pg_http =
          bench_http("jobs_http_claim_complete_postgresql", http_cycles, 8, server_kind::epoll,
                     client_kind::raw_epoll, true, cluster.create_database("bench_http"));
      if (naive_cycles > 0) {
        bench_pg_naive(cluster.create_database("bench_naive1"), naive_cycles / 4, 1);
        naive = bench_pg_naive(cluster.create_database("bench_naive8"), naive_cycles, 8);
      }
      if (replay_requests > 0)
        bench_replay_nextjob(replay_requests, 8, cluster.create_database("bench_replay"));
      // Several orchestrators on one database (issue 18 item 2): 1, 2 and 3.
      nlohmann::json http_by_n, in_process_by_n;
      for (int n = 1; shared_cycles > 0 && n <= 3; ++n) {
        const std::string k = std::to_string(n);
        http_by_n[k] =
          bench_pg_shared_http(cluster.create_database("bench_shared_http" + k), shared_cycles, n);
        in_process_by_n[k] = bench_pg_shared_in_process(
          cluster.create_database("bench_shared_inproc" + k), shared_cycles, n);
      }
      if (shared_cycles > 0)
        std::cout << nlohmann::json{{"bench", "jobs_postgresql_orchestrators"},
                                    {"http_cycles_per_s", http_by_n},
                                    {"in_process_cycles_per_s", in_process_by_n},
                                    {"naive_baseline_8_clients_cycles_per_s", naive},
                                    {"postgresql_alone_http_cycles_per_s", pg_http},
                                    {"why",
                                     "the campaign lock serialises every orchestrator's round "
                                     "(catch-up read, writes, commit with its WAL flush), and "
                                     "the clients spread over more orchestrators leave fewer "
                                     "requests per round: more orchestrators buy availability, "
                                     "not throughput (docs/jobs.md)"},
                                    {"machine", machine_load()}}
                       .dump()
                  << std::endl;
    }
  }
  if (replay_requests > 0)
    bench_replay_nextjob(replay_requests, 8, "");
  // The figure beside its target and the baseline of this same run.
  if (http_cycles > 0) {
    nlohmann::json line = {{"bench", "jobs_http_summary"},
                           {"cycles_per_s", figure},
                           {"target_cycles_per_s", 20000},
                           {"meets_target", figure >= 20000},
                           {"machine", machine_load()}};
    if (baseline > 0) {
      line["baseline_httplib_cycles_per_s"] = baseline;
      line["speedup_over_baseline"] = figure / baseline;
    }
    if (pg_http > 0)
      line["postgresql_cycles_per_s"] = pg_http;
    if (naive > 0) {
      line["postgresql_naive_baseline_cycles_per_s"] = naive;
      line["postgresql_speedup_over_naive"] = pg_http / naive;
    }
    line["published"] = published();
    std::cout << line.dump() << std::endl;
  }
  return 0;
}
