// Swarm throughput (issue 16, item 6): seeds per second for chain-sim-sized runs
// (scenarios/chain-sim.json: 30 nodes, 10 simulated minutes) on this machine's cores, through
// `troupe swarm` with -j 1 and -j <cores>, beside the baseline measured in the same run: what
// a tester does without swarm, one `troupe run --seed N` after another from a shell loop.
// Prints one JSON line per way, with the machine's load average before it ran.
//
//   ./build/benchmarks/bench_swarm [--seeds N]      (default 24; run from the source root)

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"

using nlohmann::json;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

const std::string scenario = "scenarios/chain-sim.json";

std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

/// Runs `command` through the shell; its exit code (-1 when it could not run or was killed).
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path fresh(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("troupe-bench-swarm-" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

json measure(const std::string& way, uint64_t seeds, const std::string& command) {
  const auto load = load_average();
  const auto t0 = clock_type::now();
  const int code = shell(command);
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  return json{{"way", way},           {"seeds", seeds},
              {"wall_seconds", wall}, {"seeds_per_second", static_cast<double>(seeds) / wall},
              {"exit_code", code},    {"load_before", load}};
}

} // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 24;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--seeds") == 0)
      seeds = std::max<uint64_t>(2, std::strtoull(argv[i + 1], nullptr, 10));
  const auto troupe = troupe::test::troupe_binary();
  if (!fs::exists(troupe)) {
    std::fprintf(stderr, "bench_swarm: %s is missing: build the troupe target first\n",
                 troupe.c_str());
    return 2;
  }
  const unsigned cores = std::max(1u, static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
  const std::string range = "1.." + std::to_string(seeds);
  const std::string quiet = " >/dev/null 2>&1";

  // Baseline: a shell loop of ordinary runs, one after another.
  const auto loop_dir = fresh("loop");
  const auto loop =
    measure("shell loop of troupe run (baseline)", seeds,
            "for s in $(seq 1 " + std::to_string(seeds) + "); do " + troupe + " run " + scenario +
              " --seed $s --quiet --out " + loop_dir.string() + "/seed-$s || true; done" + quiet);
  std::printf("%s\n", loop.dump().c_str());
  const double base = loop["seeds_per_second"].get<double>();

  for (unsigned jobs : {1u, cores}) {
    const auto dir = fresh("swarm-j" + std::to_string(jobs));
    auto r = measure("troupe swarm -j " + std::to_string(jobs), seeds,
                     troupe + " swarm " + scenario + " --seeds " + range + " -j " +
                       std::to_string(jobs) + " --out " + dir.string() + quiet);
    r["vs_baseline"] = r["seeds_per_second"].get<double>() / base;
    r["simulated_minutes_per_second"] = r["seeds_per_second"].get<double>() * 10.0;
    std::printf("%s\n", r.dump().c_str());
    if (jobs == cores)
      break; // a one-core machine measures -j 1 once
  }
  fs::remove_all(loop_dir.parent_path());
  return 0;
}
