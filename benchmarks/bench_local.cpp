// The local backend at scale, with real litecoind nodes (regtest): time from deploy to all
// nodes ready for 10, 25 and 50 nodes, resident memory per node, and troupe's own CPU while
// its proxies poll 50 nodes once a second. Prints one JSON line per figure, beside its target:
//   50 nodes ready in under 30 s on this 2-core machine; polling 50 nodes at 1 Hz under 10%
//   of one core.
//
// Usage: bench_local [--nodes 10,25,50] [--poll-seconds 30] [--fabric on|off|both]
//                    [--agent in-process|child|both]
//   --fabric both: each size deployed without link relays, then with them (issue 19: the
//   fabric may add at most 10%).
//   --agent both: each deployed with the agent on a thread, then as a child process
//   (`troupe agent --stdio`, found as ../troupe beside this binary or $TROUPE_AGENT_BINARY);
//   the polling CPU then counts the agent's too.

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/node_protocol.hpp"
#include "actors/scenario/topology.hpp"
#include "backends/local/local_backend.hpp"
#include "benchmarks/live_bench_inputs.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double rss_mb(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// CPU seconds (user + system) of another process, from /proc/PID/stat.
double cpu_seconds_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>(in), {}};
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::stringstream ss{text.substr(close + 2)};
  std::string field;
  double ticks = 0;
  for (int i = 3; ss >> field && i <= 15; ++i)
    if (i == 14 || i == 15) // utime, stime
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

scenario litecoin_nodes(uint32_t count, bool fabric, const std::string& agent,
                        const std::string& poll) {
  auto s = bench::litecoin_observers("bench-local", count, "local");
  s.backend.params["fabric"] = fabric;
  s.backend.params["agent"] = agent;
  s.backend.params["poll"] = poll;
  if (agent == "child")
    s.backend.params["agent_binary"] = bench::agent_troupe();
  return s;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<uint32_t> sizes{10, 25, 50};
  int poll_seconds = 30;
  std::vector<bool> fabric_modes{true};
  std::vector<std::string> agent_modes{"in-process"};
  std::vector<std::string> poll_modes{"orchestrator"};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0) {
      sizes.clear();
      std::stringstream ss{argv[i + 1]};
      std::string item;
      while (std::getline(ss, item, ','))
        sizes.push_back(static_cast<uint32_t>(std::stoul(item)));
    } else if (std::strcmp(argv[i], "--poll-seconds") == 0) {
      poll_seconds = std::stoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--fabric") == 0) {
      // on | off | both (the same deploy without and then with link relays, in one run)
      std::string v = argv[i + 1];
      fabric_modes = v == "off"    ? std::vector<bool>{false}
                     : v == "both" ? std::vector<bool>{false, true}
                                   : std::vector<bool>{true};
    } else if (std::strcmp(argv[i], "--poll") == 0) {
      // orchestrator | agent | both (who polls the nodes: each proxy, or the agent's summaries)
      std::string v = argv[i + 1];
      poll_modes = v == "both" ? std::vector<std::string>{"orchestrator", "agent"}
                               : std::vector<std::string>{v};
    } else if (std::strcmp(argv[i], "--agent") == 0) {
      std::string v = argv[i + 1];
      agent_modes =
        v == "both" ? std::vector<std::string>{"in-process", "child"} : std::vector<std::string>{v};
    }
  }
  auto root = fs::temp_directory_path() / ("troupe-bench-local-" + std::to_string(::getpid()));
  for (auto n : sizes)
    for (bool fabric : fabric_modes)
      for (const auto& agent : agent_modes)
        for (const auto& poll : poll_modes) {
          caf::actor_system_config cfg;
          caf::actor_system sys{cfg};
          backends::local::local_backend b;
          auto s = litecoin_nodes(n, fabric, agent, poll);
          auto topo = expand(s);
          run_env env;
          env.run_dir =
            root / (std::to_string(n) + (fabric ? "-fabric" : "") + "-" + agent + "-" + poll);
          fs::create_directories(env.run_dir);
          try {
            b.deploy(sys, s, topo, env);
          } catch (const std::exception& e) {
            std::cerr << "bench_local: deploy of " << n << " nodes failed: " << e.what() << "\n";
            return 2;
          }
          auto timing = b.results()["timing"];
          auto ready_s = timing.value("ready_ms", 0) / 1000.0;
          std::cout << nlohmann::json{{"bench", "local_ready"},
                                      {"program", "litecoin-regtest"},
                                      {"nodes", n},
                                      {"fabric", fabric},
                                      {"agent", agent},
                                      {"agent_ms", timing.value("agent_ms", 0)},
                                      {"relays", b.shared_world()->fabric
                                                   ? b.shared_world()->fabric->relay_count()
                                                   : 0},
                                      {"ready_s", ready_s},
                                      {"deploy_s", timing.value("deploy_ms", 0) / 1000.0},
                                      {"spawn_s", timing.value("spawn_ms", 0) / 1000.0},
                                      {"target_ready_s", n == 50 ? nlohmann::json(30) : nullptr}}
                         .dump()
                    << std::endl;
          double rss = 0;
          auto pids = b.live_pids();
          for (auto p : pids)
            rss += rss_mb(p);
          std::cout << nlohmann::json{{"bench", "local_rss"},
                                      {"nodes", n},
                                      {"rss_mb_per_node", pids.empty() ? 0 : rss / pids.size()},
                                      {"rss_mb_total", rss}}
                         .dump()
                    << std::endl;
          if (n == sizes.back()) {
            // The proxies poll every node once a second; everything troupe does is in this process.
            // A child agent's CPU is troupe's too.
            const pid_t agent_pid = b.shared_world()->sup->agent(0)->agent_pid();
            auto cpu = [&] {
              return cpu_seconds() + (agent == "child" ? cpu_seconds_of(agent_pid) : 0.0);
            };
            auto c0 = cpu();
            auto o0 = cpu_seconds(); // the orchestrator alone (with a child agent: without it)
            auto t0 = std::chrono::steady_clock::now();
            std::this_thread::sleep_for(std::chrono::seconds(poll_seconds));
            auto wall =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            auto pct = 100.0 * (cpu() - c0) / wall;
            auto orchestrator_pct = 100.0 * (cpu_seconds() - o0) / wall;
            std::cout << nlohmann::json{{"bench", "local_poll_cpu"},
                                        {"nodes", n},
                                        {"fabric", fabric},
                                        {"agent", agent},
                                        {"poll", poll},
                                        {"poll_hz", 1},
                                        {"orchestrator_cpu_pct_of_one_core", orchestrator_pct},
                                        {"seconds", poll_seconds},
                                        {"cpu_pct_of_one_core", pct},
                                        {"target_pct", 10}}
                           .dump()
                      << std::endl;
          }
          auto t0 = std::chrono::steady_clock::now();
          b.teardown();
          std::cout << nlohmann::json{{"bench", "local_teardown"},
                                      {"nodes", n},
                                      {"agent", agent},
                                      {"teardown_s", std::chrono::duration<double>(
                                                       std::chrono::steady_clock::now() - t0)
                                                       .count()},
                                      {"orphans", b.live_pids().size()}}
                         .dump()
                    << std::endl;
        }
  fs::remove_all(root);
  return 0;
}
