// The link fabric on loopback: how exactly a relay adds latency (error of the measured one-way
// delay against 50 ms, p50 and p99, beside a direct connection's own delay), how fast an
// unshaped relay moves bytes (MB/s, beside a direct connection in the same run), and the
// fabric thread's CPU with 100 links carrying small messages. Prints one JSON line per figure.
//
// Usage: bench_fabric [--messages 400] [--megabytes 512] [--links 100] [--seconds 5]

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/agent/fabric.hpp"

using namespace troupe::backends::agent;
using steady = std::chrono::steady_clock;
using nlohmann::json;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
    .count();
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int listen_any(uint16_t& port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = loopback(0);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(s, 256) != 0) {
    std::perror("listen");
    std::exit(2);
  }
  socklen_t len = sizeof(a);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

int dial(uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto a = loopback(port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    std::perror("connect");
    std::exit(2);
  }
  int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return s;
}

/// A connected pair: `a` dials `port` (a relay, or the listener itself), `b` is accepted.
std::pair<int, int> connect_pair(int listener, uint16_t port) {
  int a = dial(port);
  int b = ::accept(listener, nullptr, nullptr);
  int one = 1;
  ::setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return {a, b};
}

bool read_exact(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    auto r = ::recv(fd, buf + got, n - got, 0);
    if (r <= 0)
      return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// One-way delays (ms) of `n` timestamped 64-byte messages, one every 5 ms.
std::vector<double> one_way_delays(int a, int b, int n) {
  std::vector<double> out;
  std::thread reader([&] {
    char msg[64];
    for (int i = 0; i < n; ++i) {
      if (!read_exact(b, msg, sizeof(msg)))
        return;
      int64_t sent = 0;
      std::memcpy(&sent, msg, sizeof(sent));
      out.push_back(static_cast<double>(now_ns() - sent) / 1e6);
    }
  });
  for (int i = 0; i < n; ++i) {
    char msg[64] = {};
    int64_t t = now_ns();
    std::memcpy(msg, &t, sizeof(t));
    ::send(a, msg, sizeof(msg), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reader.join();
  return out;
}

/// MB/s moving `bytes` from a to b.
double throughput(int a, int b, size_t bytes) {
  std::vector<char> chunk(1 << 16, 'x');
  auto t0 = steady::now();
  std::thread writer([&] {
    size_t sent = 0;
    while (sent < bytes) {
      auto n = ::send(a, chunk.data(), std::min(chunk.size(), bytes - sent), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      sent += static_cast<size_t>(n);
    }
  });
  std::vector<char> buf(1 << 16);
  size_t got = 0;
  while (got < bytes) {
    auto n = ::recv(b, buf.data(), buf.size(), 0);
    if (n <= 0)
      break;
    got += static_cast<size_t>(n);
  }
  writer.join();
  double s = std::chrono::duration<double>(steady::now() - t0).count();
  return static_cast<double>(got) / 1e6 / s;
}

/// CPU seconds of the thread named by `tid` (utime + stime from /proc).
double thread_cpu_seconds(pid_t tid) {
  std::ifstream in{"/proc/self/task/" + std::to_string(tid) + "/stat"};
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < stat.size()) {
    auto sp = stat.find(' ', pos);
    fields.push_back(stat.substr(pos, sp - pos));
    if (sp == std::string::npos)
      break;
    pos = sp + 1;
  }
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

std::vector<pid_t> thread_ids() {
  std::vector<pid_t> out;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    out.push_back(static_cast<pid_t>(std::stoi(e.path().filename().string())));
  return out;
}

void print(json j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  int messages = 400;
  size_t megabytes = 512;
  int links = 100;
  int seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--messages")
      messages = std::stoi(argv[i + 1]);
    else if (k == "--megabytes")
      megabytes = static_cast<size_t>(std::stoul(argv[i + 1]));
    else if (k == "--links")
      links = std::stoi(argv[i + 1]);
    else if (k == "--seconds")
      seconds = std::stoi(argv[i + 1]);
  }

  // -- latency: 50 ms added, error of the measured one-way delay ----------------------
  {
    uint16_t port = 0;
    int l = listen_any(port);
    auto [da, db] = connect_pair(l, port);
    auto direct = one_way_delays(da, db, messages);
    fabric f;
    auto relay = f.add_relay("a", "b", port);
    f.start();
    f.apply({{link_change::shape, "a", "b", {50'000'000, 0, 0}}});
    auto [ra, rb] = connect_pair(l, relay);
    auto relayed = one_way_delays(ra, rb, messages);
    std::vector<double> error;
    for (auto d : relayed)
      error.push_back(d - 50.0);
    print({{"figure", "added latency error at 50 ms (relayed one-way delay - 50 ms)"},
           {"messages", relayed.size()},
           {"p50_ms", percentile(error, 50)},
           {"p99_ms", percentile(error, 99)},
           {"max_ms", percentile(error, 100)},
           {"baseline_direct_one_way_p50_ms", percentile(direct, 50)},
           {"baseline_direct_one_way_p99_ms", percentile(direct, 99)}});
    for (int fd : {da, db, ra, rb, l})
      ::close(fd);
    f.stop();
  }

  // -- throughput: unshaped relay beside a direct connection ----------------------------
  {
    uint16_t port = 0;
    int l = listen_any(port);
    const size_t bytes = megabytes << 20;
    auto [da, db] = connect_pair(l, port);
    double direct = throughput(da, db, bytes);
    fabric f;
    auto relay = f.add_relay("a", "b", port);
    f.start();
    auto [ra, rb] = connect_pair(l, relay);
    double relayed = throughput(ra, rb, bytes);
    print({{"figure", "relay throughput on loopback, one connection, unshaped"},
           {"megabytes", megabytes},
           {"relayed_MB_per_s", relayed},
           {"baseline_direct_MB_per_s", direct},
           {"ratio", relayed / direct}});
    for (int fd : {da, db, ra, rb, l})
      ::close(fd);
    f.stop();
  }

  // -- CPU: the fabric thread with `links` links carrying 20 small messages a second each --
  {
    uint16_t port = 0;
    int l = listen_any(port);
    auto before = thread_ids();
    fabric f;
    std::vector<uint16_t> relays;
    for (int i = 0; i < links; ++i)
      relays.push_back(f.add_relay("n" + std::to_string(i), "t", port));
    f.start();
    pid_t loop_tid = 0;
    for (auto t : thread_ids())
      if (std::find(before.begin(), before.end(), t) == before.end())
        loop_tid = t;
    std::vector<std::pair<int, int>> pairs;
    for (auto r : relays)
      pairs.push_back(connect_pair(l, r));
    std::atomic<bool> done{false};
    std::thread reader([&] {
      std::vector<pollfd> fds;
      for (auto& p : pairs)
        fds.push_back({p.second, POLLIN, 0});
      char buf[4096];
      while (!done) {
        if (::poll(fds.data(), fds.size(), 100) <= 0)
          continue;
        for (auto& p : fds)
          if (p.revents & POLLIN)
            (void) ::recv(p.fd, buf, sizeof(buf), 0);
      }
    });
    const double cpu0 = thread_cpu_seconds(loop_tid);
    auto t0 = steady::now();
    uint64_t sent = 0;
    while (steady::now() - t0 < std::chrono::seconds(seconds)) {
      char msg[200] = {};
      for (auto& p : pairs) {
        ::send(p.first, msg, sizeof(msg), MSG_NOSIGNAL);
        ++sent;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const double wall = std::chrono::duration<double>(steady::now() - t0).count();
    const double cpu = thread_cpu_seconds(loop_tid) - cpu0;
    done = true;
    reader.join();
    print({{"figure", "fabric thread CPU, links carrying 20 messages of 200 B a second each"},
           {"links", links},
           {"messages_per_s", static_cast<double>(sent) / wall},
           {"cpu_percent_of_one_core", 100.0 * cpu / wall},
           {"cpu_percent_per_100_links", 100.0 * cpu / wall * 100.0 / links}});
    for (auto& p : pairs) {
      ::close(p.first);
      ::close(p.second);
    }
    ::close(l);
    f.stop();
  }
  return 0;
}
