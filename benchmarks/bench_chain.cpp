// Whole-network runs of the built-in `chain` model on the kernel and world, without the
// runner: how many simulated seconds the model and the light path deliver per wall second.
// Targets (issue 4): a 30-node, 10-minute run at 10 tx/s in well under 0.5 s (>= 1200x), and
// a 1,000-node network at >= 100x.
//
//   bench_chain --benchmark_filter=bench_chain/        # the 30- and 1,000-node figures
//   bench_chain --benchmark_filter=bench_chain/.*:30/  # one
//   bench_chain --benchmark_filter=scale               # 100,000 nodes: bytes per node (slow)

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

#include <benchmark/benchmark.h>

#include "sim/kernel.hpp"
#include "sim/models/chain.hpp"
#include "sim/world.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::sim::duration;

/// Peak resident set of this process in KiB (VmHWM), 0 where /proc is missing.
long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}

struct run_result {
  uint64_t height = 0;
  uint64_t final_height = 0;
  uint64_t delivered = 0;
  uint64_t digest = 0;
};

/// `nodes` validators, each linked to i+1, i+7 and (for big networks) i+37 and i+331, so the
/// diameter stays small; `coeff` per validator; `tx_per_s` submitted round-robin.
run_result run_network(size_t nodes, double coeff, duration length, int tx_per_s, duration relay) {
  troupe::sim::kernel k;
  troupe::sim::world::options o;
  o.seed = 42;
  o.default_link.latency = 50ms;
  o.default_link.jitter = 10ms;
  o.default_link.bandwidth_bps = 100'000'000;
  troupe::sim::world w(k, o);
  troupe::sim::models::chain_params p;
  p.active_slot_coeff = coeff;
  p.tx_relay_interval = relay;
  for (size_t i = 0; i < nodes; ++i)
    w.add_node("validator-" + std::to_string(i), troupe::sim::models::make_chain_model(p));
  for (size_t i = 0; i < nodes; ++i)
    for (size_t step : {size_t{1}, size_t{7}, size_t{37}, size_t{331}})
      if (step < nodes / 2 || step == 1)
        w.connect(static_cast<uint32_t>(i), static_cast<uint32_t>((i + step) % nodes));
  uint64_t blocks_seen = 0;
  w.on_block([&](const troupe::block_event&) { ++blocks_seen; });
  w.start();
  const duration step = tx_per_s > 0 ? duration{1'000'000'000 / tx_per_s} : length;
  uint64_t tx = 0;
  while (k.now() < length) {
    k.run_until(std::min(length, k.now() + step));
    if (tx_per_s > 0) {
      const std::string id = "tx-" + std::to_string(tx);
      w.submit(static_cast<uint32_t>(tx % nodes), {id, "alice", "bob", 1, 0});
      ++tx;
    }
  }
  run_result r;
  const auto s = w.status(0);
  r.height = s.height;
  r.final_height = s.final_height;
  r.digest = w.digest();
  const auto c = w.counters();
  if (auto it = c.find("net.delivered"); it != c.end())
    r.delivered = it->second;
  benchmark::DoNotOptimize(blocks_seen);
  return r;
}

void report(benchmark::State& state, const run_result& r, duration length, double wall_s,
            double cpu_s, size_t nodes) {
  const double sim_s = std::chrono::duration<double>(length).count();
  state.counters["sim_s_per_wall_s"] = sim_s / wall_s;
  // CPU time too: on a shared machine wall time also measures the neighbours.
  state.counters["sim_s_per_cpu_s"] = sim_s / cpu_s;
  state.counters["height"] = static_cast<double>(r.height);
  state.counters["final"] = static_cast<double>(r.final_height);
  state.counters["msgs_delivered"] = static_cast<double>(r.delivered);
  state.counters["peak_rss_kib_per_node"] = static_cast<double>(peak_rss_kib()) / nodes;
}

void bench_chain(benchmark::State& state) {
  const auto nodes = static_cast<size_t>(state.range(0));
  const duration length = std::chrono::seconds{state.range(1)};
  // Keep the network's block rate near 30 validators at the default 0.01 (one per ~4 s).
  const double coeff = 0.01 * 30.0 / static_cast<double>(nodes);
  const duration relay = std::chrono::milliseconds{state.range(2)};
  run_result r;
  double wall_s = 0, cpu_s = 0;
  for (auto _ : state) {
    // Wall time is what this benchmark measures; the simulation itself never reads it.
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    r = run_network(nodes, coeff, length, 10, relay);
    cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  report(state, r, length, wall_s, cpu_s, nodes);
}

// Args: nodes, simulated seconds, tx relay interval in ms (250 is the model's default).
BENCHMARK(bench_chain)
  ->ArgNames({"nodes", "sim_s", "relay_ms"})
  ->Args({30, 600, 250})
  ->Args({30, 600, 0})
  ->Args({1000, 600, 250})
  ->Args({1000, 600, 1000})
  ->Args({1000, 600, 0})
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond);

/// Issue 16's scale figure: bytes per node (peak_rss_kib_per_node) with 100,000 chain nodes,
/// for one simulated minute (about 3 minutes here) and ten (the run: about half an
/// hour). Its own name so that `--benchmark_filter=bench_chain/` leaves it out.
void bench_chain_scale(benchmark::State& state) { bench_chain(state); }
BENCHMARK(bench_chain_scale)
  ->ArgNames({"nodes", "sim_s", "relay_ms"})
  ->Args({100000, 60, 250})
  ->Args({100000, 600, 250})
  ->Iterations(1)
  ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
