// Reverse tunnels (backends/agent/reverse_tunnels.hpp, tunnel_pool.hpp): what a node-side
// command in a container or a pod pays to reach the run's sync service through its agent,
// beside the same calls made directly on loopback in the same run. The agent is a host_agent
// on a thread of this process behind a real listening socket (as `troupe agent --listen`), so
// every byte crosses the same sockets and splices as in a run. Prints one JSON line per figure.
//
//   calls      T threads each make sync calls (`count`), a new connection per call as a
//              `troupe sync` command does: calls per second and p50/p99 latency through the
//              tunnel, beside direct.
//   bytes      one connection echoes M MiB back through the tunnel: MB/s, beside direct.
//
// Usage: bench_tunnel [--calls 2000] [--threads 8] [--megabytes 64]

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/sync_actor.hpp"
#include "backends/agent/agent.hpp"
#include "backends/agent/connection.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/agent/reverse_reach.hpp"
#include "services/sync_client.hpp"
#include "services/sync_http.hpp"
#include "tests/support/sockets.hpp"

using nlohmann::json;
using steady = std::chrono::steady_clock;
namespace agent = troupe::backends::agent;

namespace {

size_t arg(int argc, char** argv, const char* name, size_t dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0)
      return std::stoul(argv[i + 1]);
  return dflt;
}

/// A listening agent on a thread of this process: serves the first orchestrator, and takes
/// its reverse tunnels on the same port meanwhile.
class agent_on_a_thread {
public:
  agent_on_a_thread() {
    agent::agent_options o;
    o.token = "bench-token";
    o.log_to_stderr = false;
    agent_ = std::make_unique<agent::host_agent>(o);
    thread_ = std::thread([this] {
      int fd = ::accept4(listening_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        return;
      agent_->accept_tunnels_on(listening_.fd);
      agent_->serve(fd, fd);
      ::close(fd);
    });
  }
  ~agent_on_a_thread() {
    agent_->stop();
    thread_.join();
  }
  uint16_t port() const { return listening_.port; }

private:
  troupe::test::busy_port listening_;
  std::unique_ptr<agent::host_agent> agent_;
  std::thread thread_;
};

struct calls_result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  size_t failed = 0;
};

calls_result sync_calls(const std::string& url, size_t calls, size_t threads) {
  std::vector<std::vector<double>> lat(threads);
  std::vector<size_t> failed(threads, 0);
  const auto t0 = steady::now();
  std::vector<std::thread> ts;
  for (size_t t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (size_t i = t; i < calls; i += threads) {
        const auto s = steady::now();
        try {
          troupe::services::sync_client c{url}; // a new connection, as a command's process
          c.count("bench");
          lat[t].push_back(std::chrono::duration<double, std::micro>(steady::now() - s).count());
        } catch (const std::exception&) {
          ++failed[t];
        }
      }
    });
  for (auto& t : ts)
    t.join();
  const double wall = std::chrono::duration<double>(steady::now() - t0).count();
  std::vector<double> all;
  calls_result r;
  for (size_t t = 0; t < threads; ++t) {
    all.insert(all.end(), lat[t].begin(), lat[t].end());
    r.failed += failed[t];
  }
  std::sort(all.begin(), all.end());
  r.per_second = static_cast<double>(all.size()) / wall;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

int dial(uint16_t port) {
  int fd = troupe::test::dial_loopback(port);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot connect: ") + std::strerror(errno));
  return fd;
}

/// An echo server on 127.0.0.1 for one connection at a time (the bytes figure), on a thread.
class echo_once {
public:
  echo_once() {
    thread_ = std::thread([this] {
      for (int round = 0; round < 2; ++round) { // direct, then through the tunnel
        int fd = ::accept4(listening_.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0)
          return;
        std::vector<char> buf(1 << 16);
        for (;;) {
          auto n = ::recv(fd, buf.data(), buf.size(), 0);
          if (n <= 0 || !agent::write_all(fd, {buf.data(), static_cast<size_t>(n)}))
            break;
        }
        ::close(fd);
      }
    });
  }
  ~echo_once() {
    ::shutdown(listening_.fd, SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return listening_.port; }

private:
  troupe::test::busy_port listening_;
  std::thread thread_;
};

/// MB/s of `megabytes` sent to `port` and read back on one connection.
double echo_megabytes_per_second(uint16_t port, size_t megabytes) {
  int fd = dial(port);
  const size_t total = megabytes << 20;
  std::thread writer([fd, total] {
    const std::string chunk(1 << 16, 'x');
    for (size_t sent = 0; sent < total; sent += chunk.size())
      if (!agent::write_all(fd, std::string_view(chunk).substr(0, total - sent)))
        break;
    ::shutdown(fd, SHUT_WR);
  });
  const auto t0 = steady::now();
  std::vector<char> buf(1 << 16);
  size_t got = 0;
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  const double s = std::chrono::duration<double>(steady::now() - t0).count();
  writer.join();
  ::close(fd);
  return got == total ? static_cast<double>(total) / 1e6 / s : 0.0;
}

json calls_json(const calls_result& r) {
  return {{"calls_per_s", static_cast<int64_t>(r.per_second)},
          {"p50_us", static_cast<int64_t>(r.p50_us)},
          {"p99_us", static_cast<int64_t>(r.p99_us)},
          {"failed", r.failed}};
}

} // namespace

int main(int argc, char** argv) {
  const size_t calls = arg(argc, argv, "--calls", 2000);
  const size_t threads = arg(argc, argv, "--threads", 8);
  const size_t megabytes = arg(argc, argv, "--megabytes", 64);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto sync = troupe::spawn_sync(sys, nullptr);
  {
    troupe::services::sync_http_options o;
    troupe::services::sync_http_server server{sys, sync, o};
    echo_once echo;
    agent_on_a_thread host;
    agent::tcp_agent_options ch;
    ch.port = host.port();
    ch.token = "bench-token";
    auto c = agent::connection::start_tcp(ch, nullptr);
    agent::reverse_reach reach;
    agent::tunnel_pool_options where;
    where.port = host.port();
    where.token = "bench-token";
    reach.add_host(c, where);
    const auto port_here = static_cast<uint16_t>(std::stoi(server.url().substr(17)));
    const auto tunnelled = "http://" + reach.reach(0, port_here);

    const auto direct = sync_calls(server.url(), calls, threads);
    const auto through = sync_calls(tunnelled, calls, threads);
    std::printf("%s\n",
                json{{"figure", "calls"},
                     {"threads", threads},
                     {"calls", calls},
                     {"tunnel", calls_json(through)},
                     {"baseline_direct", calls_json(direct)},
                     {"ratio", direct.per_second > 0 ? through.per_second / direct.per_second : 0}}
                  .dump()
                  .c_str());
    const auto direct_mb = echo_megabytes_per_second(echo.port(), megabytes);
    const auto echo_there = reach.reach(0, echo.port());
    const auto through_mb = echo_megabytes_per_second(
      static_cast<uint16_t>(std::stoi(echo_there.substr(echo_there.rfind(':') + 1))), megabytes);
    std::printf("%s\n", json{{"figure", "bytes"},
                             {"megabytes", megabytes},
                             {"tunnel_mb_per_s", static_cast<int64_t>(through_mb)},
                             {"baseline_direct_mb_per_s", static_cast<int64_t>(direct_mb)}}
                          .dump()
                          .c_str());
    reach.close();
    c->close();
  }
  caf::anon_send_exit(sync, caf::exit_reason::user_shutdown);
  return 0;
}
