// The ssh backend at fleet sizes (issue 13): N real sshd hosts on this machine
// (tests/support/sshd_fleet.hpp: 127.0.0.2, .3, ...), one light node per host (a Python HTTP
// server answering the http-json adapter), the agents polling their nodes ("poll": "agent").
// Per N: time until every node is ready (from the deploy call: ssh masters, troupe copied,
// agents, nodes) and its parts, the same on a second deploy (troupe already on the hosts), troupe's
// CPU while the run goes on, the bytes that reach troupe per node per minute, and teardown time;
// beside the target of 100 hosts ready in 30 s.
//
// Usage: bench_fleet [--hosts 10,50,100] [--seconds 30]   (as root: sshd accepts root logins
// only from a root sshd)

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/scenario/topology.hpp"
#include "backends/ssh/ssh_backend.hpp"
#include "benchmarks/live_bench_inputs.hpp"
#include "tests/support/sshd_fleet.hpp"

using namespace troupe;
namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

/// A node as light as a node gets: a static status document served over HTTP.
json light_program() {
  return json::parse(R"json({
    "name": "light-http",
    "summary": "python3's http.server with a static status document (bench_fleet)",
    "binary": "sh",
    "package": "dash",
    "ports": {"http_port": "auto"},
    "args": ["-c", "mkdir -p {data_dir} && echo '{\"height\": 1, \"tip\": \"t1\"}' > {data_dir}/status.json && exec python3 -m http.server {http_port} --bind {host} --directory {data_dir}"],
    "ready": {"probe": "http", "port": "http_port", "path": "/status.json", "expect": "height",
              "timeout": "60s", "interval": "100ms"},
    "stop_grace": "2s",
    "adapter": {"kind": "http-json", "url": "http://{host}:{http_port}",
                "status": {"method": "GET", "path": "/status.json", "height": "/height",
                           "tip": "/tip"}}
  })json");
}

scenario fleet_scenario(size_t hosts, const fs::path& dir) {
  std::ofstream{dir / "light-http.json"} << light_program().dump(2);
  scenario s;
  s.name = "bench-fleet";
  group g;
  g.name = "node";
  g.role = "observer";
  g.count = static_cast<uint32_t>(hosts);
  g.node.program = (dir / "light-http.json").string();
  s.topology.groups.push_back(g);
  s.topology.layout.kind = layout_kind::star;
  s.backend.name = "ssh";
  s.backend.params = {{"hosts", (dir / "hosts.json").string()},
                      {"remote_dir", (dir / "remote").string()},
                      {"poll", "agent"},
                      {"poll_interval", "1s"},
                      {"fabric", false},
                      {"parallel", 32},
                      // a loaded machine starts 32 agents slowly: the hello waits 10 s more
                      {"connect_timeout", "30s"},
                      {"agent_binary", bench::agent_troupe()}};
  return s;
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

uint64_t bytes_in(const backends::local::world& w) {
  uint64_t sum = 0;
  for (size_t h = 0; h < w.hosts.size(); ++h)
    sum += w.sup->agent(h)->traffic().value("bytes", uint64_t{0});
  return sum;
}

json measure(size_t hosts, int seconds, const fs::path& root) {
  const auto dir = root / ("n" + std::to_string(hosts));
  fs::create_directories(dir);
  test::sshd_fleet fleet{dir / "fleet", hosts};
  if (!fleet.error().empty())
    throw std::runtime_error(fleet.error());
  fleet.write_inventory(dir / "hosts.json");
  auto s = fleet_scenario(hosts, dir);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  backends::ssh::ssh_backend b;
  run_env env;
  env.run_dir = dir / "run";
  fs::create_directories(env.run_dir);
  auto t0 = steady::now();
  b.deploy(sys, s, expand(s), env);
  const double ready_s = since(t0);
  auto timing = b.results().value("timing", json::object());
  auto& w = *b.shared_world();
  const auto bytes0 = bytes_in(w);
  const auto cpu0 = cpu_seconds();
  t0 = steady::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double wall = since(t0);
  const double cpu = cpu_seconds() - cpu0;
  const auto bytes = bytes_in(w) - bytes0;
  t0 = steady::now();
  b.teardown();
  const double teardown_s = since(t0);
  // Again on the same fleet: troupe is on every host already (its sha256 matches), as on the
  // second run of a campaign.
  env.run_dir = dir / "run-again";
  fs::create_directories(env.run_dir);
  t0 = steady::now();
  b.deploy(sys, s, expand(s), env);
  const double warm_ready_s = since(t0);
  auto warm_timing = b.results().value("timing", json::object());
  b.teardown();
  fleet.stop();
  return json{
    {"hosts", hosts},
    {"ready_s", ready_s},
    {"ready_s_troupe_already_there", warm_ready_s},
    {"timing_ms_troupe_already_there", warm_timing},
    {"timing_ms", timing},
    {"troupe_cpu_percent_of_a_core", 100.0 * cpu / wall},
    {"bytes_per_node_per_minute",
     static_cast<uint64_t>(static_cast<double>(bytes) * 60.0 / wall / static_cast<double>(hosts))},
    {"teardown_s", teardown_s}};
}

std::vector<size_t> parse_sizes(const std::string& text) {
  std::vector<size_t> out;
  std::stringstream in{text};
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoul(item));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<size_t> sizes{10, 50, 100};
  int seconds = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--hosts") == 0)
      sizes = parse_sizes(argv[i + 1]);
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::stoi(argv[i + 1]);
  }
  const auto root =
    fs::temp_directory_path() / ("troupe-bench-fleet-" + std::to_string(::getpid()));
  int code = 0;
  try {
    for (auto n : sizes) {
      auto r = measure(n, seconds, root);
      r["bench"] = "fleet";
      r["target"] = "100 hosts ready in <= 30 s";
      if (n == 100)
        r["meets_target"] = r["ready_s"].get<double>() <= 30.0;
      std::cout << r.dump() << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_fleet: " << e.what() << "\n";
    code = 2;
  }
  fs::remove_all(root);
  return code;
}
