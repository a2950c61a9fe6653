// What one agent sends its orchestrator, per node per minute (issue 13: at hundreds of hosts
// the orchestrator must not be flooded): real litecoind nodes in regtest, producing blocks by
// the slot lottery, through a child agent (`troupe agent --stdio`) that polls them
// (backend param "poll": "agent") and counts two log patterns beside each node, as two
// `log_pattern` expectations would (one matching every new tip, one never). Prints one JSON
// line: bytes per node per minute in all and by kind of frame (summary events, log_counts
// events, replies), beside the figure for polling alone (the same deploy without patterns,
// first).
//
// Usage: bench_agent_bytes [--nodes 5] [--seconds 60]

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log_scan.hpp"
#include "actors/node_protocol.hpp"
#include "actors/scenario/topology.hpp"
#include "backends/local/local_backend.hpp"
#include "benchmarks/live_bench_inputs.hpp"

using namespace troupe;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

scenario mining_nodes(uint32_t count) {
  scenario s;
  s.name = "bench-agent-bytes";
  group g;
  g.name = "miner";
  g.role = "validator";
  g.count = count;
  g.node.program = "litecoin-regtest";
  g.node.params = {{"slot", "1s"}, {"active_slot_coeff", 0.2}, {"finality_depth", 3}};
  s.topology.groups.push_back(g);
  s.topology.layout.kind = layout_kind::mesh;
  s.backend.name = "local";
  s.backend.params = {{"poll_interval", "1s"},
                      {"poll", "agent"},
                      {"agent", "child"},
                      {"agent_binary", bench::agent_troupe()}};
  return s;
}

/// Bytes per node per minute of `after - before` (connection::traffic) over `seconds`.
json per_node_minute(const json& before, const json& after, uint32_t nodes, double seconds) {
  const double scale = 60.0 / seconds / nodes;
  json by_kind = json::object();
  for (auto it = after["by_kind"].begin(); it != after["by_kind"].end(); ++it) {
    const auto was = before["by_kind"].value(it.key(), uint64_t{0});
    by_kind[it.key()] = static_cast<uint64_t>((it.value().get<uint64_t>() - was) * scale);
  }
  const auto bytes = after["bytes"].get<uint64_t>() - before["bytes"].get<uint64_t>();
  return json{{"bytes", static_cast<uint64_t>(bytes * scale)}, {"by_kind", by_kind}};
}

/// Deploys, optionally asks every node to count the patterns, and measures `seconds`.
json measure(uint32_t n, int seconds, bool count_logs, const fs::path& dir) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  backends::local::local_backend b;
  auto s = mining_nodes(n);
  run_env env;
  env.run_dir = dir;
  fs::create_directories(env.run_dir);
  auto d = b.deploy(sys, s, expand(s), env);
  auto& conn = *b.shared_world()->sup->agent(0); // local: one host, one agent
  if (count_logs) {
    caf::scoped_actor self{sys};
    for (const auto& node : d.nodes)
      for (const char* pattern : {"UpdateTip", "Assertion .* failed|panic"})
        self
          ->request(node.actor, std::chrono::seconds(30), log_count_atom::value,
                    log_count_request{pattern, true})
          .receive([](const log_count_report&) {}, [](caf::error&) {});
  }
  const auto before = conn.traffic();
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto after = conn.traffic();
  b.teardown();
  return per_node_minute(before, after, n, wall);
}

} // namespace

int main(int argc, char** argv) {
  uint32_t nodes = 5;
  int seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0)
      nodes = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::stoi(argv[i + 1]);
  }
  auto root =
    fs::temp_directory_path() / ("troupe-bench-agent-bytes-" + std::to_string(::getpid()));
  try {
    auto polling = measure(nodes, seconds, false, root / "poll");
    auto counting = measure(nodes, seconds, true, root / "poll-and-logs");
    std::cout << json{{"bench", "agent_bytes_per_node_per_minute"},
                      {"program", "litecoin-regtest"},
                      {"nodes", nodes},
                      {"seconds", seconds},
                      {"polling", polling},
                      {"polling_and_log_counts", counting}}
                   .dump()
              << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "bench_agent_bytes: " << e.what() << "\n";
    fs::remove_all(root);
    return 2;
  }
  fs::remove_all(root);
  return 0;
}
