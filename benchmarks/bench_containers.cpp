// The compose backend at scale, with real litecoind containers (regtest): for 5, 10 and 20
// nodes, the time from deploy to all nodes ready on `compose` beside the same count on `local`
// in the same run, the whole deploy (wallet setup included) and the teardown (compose: every
// container, network and volume removed). Prints one JSON line per figure, beside its target:
//   20 containers ready in <= 30 s on this 2-core machine.
//
// Needs a Docker daemon ($DOCKER_HOST, or the default socket; tests/support/docker_daemon.hpp
// starts one for the tests). The image is built first from ../troupe beside this binary (or
// $TROUPE_AGENT_BINARY), so the agents in the containers are this build's.
//
// Usage: bench_containers [--nodes 5,10,20] [--backends local,compose]

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/scenario/topology.hpp"
#include "backends/compose/compose_backend.hpp"
#include "backends/compose/image_builder.hpp"
#include "backends/local/local_backend.hpp"
#include "benchmarks/live_bench_inputs.hpp"

using namespace troupe;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::stringstream ss{text};
  for (std::string item; std::getline(ss, item, ',');)
    out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<uint32_t> sizes{5, 10, 20};
  std::vector<std::string> kinds{"local", "compose"};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0) {
      sizes.clear();
      for (const auto& n : split(argv[i + 1]))
        sizes.push_back(static_cast<uint32_t>(std::stoul(n)));
    } else if (std::strcmp(argv[i], "--backends") == 0) {
      kinds = split(argv[i + 1]);
    }
  }
  try {
    auto built = backends::compose::build_image(*backends::local::load_program("litecoin-regtest"),
                                                "", bench::agent_troupe());
    std::cerr << "bench_containers: image " << built.tag << " built from " << bench::agent_troupe()
              << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_containers: " << e.what() << "\n";
    return 2;
  }
  auto root = fs::temp_directory_path() / ("troupe-bench-containers-" + std::to_string(::getpid()));
  for (auto n : sizes)
    for (const auto& kind : kinds) {
      caf::actor_system_config cfg;
      caf::actor_system sys{cfg};
      std::unique_ptr<backends::local::local_backend> b;
      if (kind == "compose")
        b = std::make_unique<backends::compose::compose_backend>();
      else
        b = std::make_unique<backends::local::local_backend>();
      auto s = bench::litecoin_observers("bench-containers", n, kind);
      auto topo = expand(s);
      run_env env;
      env.run_dir = root / (kind + "-" + std::to_string(n));
      fs::create_directories(env.run_dir);
      const auto t0 = steady::now();
      try {
        b->deploy(sys, s, topo, env);
      } catch (const std::exception& e) {
        std::cerr << "bench_containers: deploy of " << n << " nodes on " << kind
                  << " failed: " << e.what() << "\n";
        return 2;
      }
      const auto deploy_s = seconds_since(t0);
      auto results = b->results();
      auto timing = results["timing"];
      // Ready: the hosts up (compose: the stack and every container's agent answering), every
      // node started and its readiness probe passed.
      const auto ready_s = (timing.value("agent_ms", 0) + timing.value("ready_ms", 0)) / 1000.0;
      const auto t1 = steady::now();
      b->teardown();
      const auto teardown_s = seconds_since(t1);
      nlohmann::json line{
        {"bench", "containers_ready"},
        {"backend", kind},
        {"program", "litecoin-regtest"},
        {"nodes", n},
        {"ready_s", ready_s},
        {"hosts_s", timing.value("agent_ms", 0) / 1000.0},
        {"deploy_s", deploy_s},
        {"teardown_s", teardown_s},
        {"target_ready_s", kind == "compose" && n == 20 ? nlohmann::json(30) : nullptr}};
      if (kind == "compose") {
        auto r = b->results();
        line["stack_up_s"] = r["compose"].value("up_ms", 0) / 1000.0;
        line["left"] = r["compose"].value("left", nlohmann::json::object());
      }
      std::cout << line.dump() << std::endl;
    }
  fs::remove_all(root);
  return 0;
}
