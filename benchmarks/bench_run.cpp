// Whole-run benchmark (issues 4 and 16): simulated seconds per wall second and peak memory per node
// for the default scenario (scenarios/chain-sim.json) and a 1,000-node variant of it, each run
// in its own child process so that peak RSS belongs to that run alone. Prints one JSON line
// per run beside its target.
//
//   ./build/benchmarks/bench_run [--repeat N]

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "apps/catalog/catalog.hpp"
#include "tests/support/paths.hpp" // run from the source root, as the README says

using nlohmann::json;

namespace {

troupe::scenario thousand_nodes(troupe::scenario s) {
  // Same shape as chain-sim (random degree 8, 50 ms ± 10 ms, 10 tx/s, 10 minutes), 700
  // validators and 300 observers; the per-validator leader probability scaled so the network
  // still makes about one block every five slots.
  s.name = "chain-sim-1000";
  s.topology.groups[0].count = 700;
  s.topology.groups[1].count = 300;
  for (auto& g : s.topology.groups) {
    g.node.params["active_slot_coeff"] = 0.0003;
    g.node.params["tx_relay_interval"] = "1s";
  }
  return s;
}

// Runs in a child: returns {wall_seconds, simulated_seconds, verdict, max_rss_bytes, nodes}.
json run_child(const troupe::scenario& s) {
  int fds[2];
  if (pipe(fds) != 0)
    return json{{"error", "pipe failed"}};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    troupe::run_request req;
    req.quiet = true;
    req.out = "/tmp/troupe-bench-run/" + s.name;
    json out;
    auto cpu = [] {
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    };
    try {
      const double cpu_start = cpu();
      auto r = troupe::run_scenario(s, req);
      const double cpu_seconds = cpu() - cpu_start;
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      out = json{{"wall_seconds", r.report["timing"]["wall_seconds"]},
                 {"simulated_seconds", r.report["timing"]["simulated_seconds"]},
                 {"verdict", r.report["verdict"]},
                 {"max_rss_bytes", static_cast<uint64_t>(ru.ru_maxrss) * 1024},
                 {"nodes", r.report["nodes"].size()},
                 {"cpu_seconds", cpu_seconds}};
    } catch (const std::exception& e) {
      out = json{{"error", e.what()}};
    }
    auto text = out.dump();
    (void) !write(fds[1], text.data(), text.size());
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  try {
    return json::parse(text);
  } catch (...) {
    return json{{"error", "child exited with status " + std::to_string(status)}};
  }
}

// The baseline: the same process doing nothing but loading the engine, so the per-node
// figure is what the run adds.
uint64_t baseline_rss() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

} // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--repeat") == 0)
      repeat = std::max(1, std::atoi(argv[i + 1]));
  troupe::register_catalog();
  auto base = troupe::load_scenario(troupe::test::source_dir() + "/scenarios/chain-sim.json");
  const uint64_t idle_rss = baseline_rss();
  // Targets: issue 16's (10,000x and 1,000x real time); the floors are issue 4's, which
  // these runs met first (3,600x and 105x when issue 16 was written).
  struct target_t {
    troupe::scenario s;
    double speedup_min;
    double floor;
  };
  for (const auto& t :
       {target_t{base, 10000.0, 1000.0}, target_t{thousand_nodes(base), 1000.0, 100.0}}) {
    // Best of `repeat`: the machine is shared; the best run is the one least disturbed.
    json best;
    for (int i = 0; i < repeat; ++i) {
      auto r = run_child(t.s);
      if (r.contains("error")) {
        std::printf("%s\n", json{{"workload", t.s.name}, {"error", r["error"]}}.dump().c_str());
        return 1;
      }
      if (best.is_null() || r["wall_seconds"].get<double>() < best["wall_seconds"].get<double>())
        best = r;
    }
    const double wall = best["wall_seconds"].get<double>();
    const double simulated = best["simulated_seconds"].get<double>();
    const double speedup = simulated / wall;
    const uint64_t nodes = best["nodes"].get<uint64_t>();
    const uint64_t rss = best["max_rss_bytes"].get<uint64_t>();
    json line{{"workload", t.s.name},
              {"nodes", nodes},
              {"verdict", best["verdict"]},
              {"simulated_seconds", simulated},
              {"wall_seconds", wall},
              {"simulated_per_wall_second", speedup},
              // On a shared machine wall time includes waiting for a core; CPU time does not.
              {"cpu_seconds", best["cpu_seconds"]},
              {"simulated_per_cpu_second", simulated / best["cpu_seconds"].get<double>()},
              {"target_simulated_per_wall_second", t.speedup_min},
              {"target_met", speedup >= t.speedup_min},
              {"floor_simulated_per_wall_second", t.floor},
              {"floor_met", speedup >= t.floor},
              {"peak_rss_bytes", rss},
              {"engine_baseline_rss_bytes", idle_rss},
              {"peak_rss_bytes_per_node", nodes ? (rss - std::min(rss, idle_rss)) / nodes : 0}};
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}
