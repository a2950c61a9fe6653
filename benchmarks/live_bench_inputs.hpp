#pragma once
// What the live benchmarks (bench_local, bench_containers, bench_fleet, bench_agent_bytes)
// run: the troupe whose agent they start, and a group of litecoind observers whose figure is
// readiness and polling, not block production.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "actors/scenario/scenario.hpp"
#include "tests/support/paths.hpp"

namespace troupe::bench {

/// The troupe that runs `troupe agent`: $TROUPE_AGENT_BINARY, else the one beside the
/// benchmarks (build/troupe).
inline std::string agent_troupe() {
  if (const char* env = std::getenv("TROUPE_AGENT_BINARY"); env && *env)
    return env;
  return troupe::test::troupe_binary();
}

/// `count` litecoind nodes that do not mine, four peers each, on `backend`.
inline scenario litecoin_observers(const std::string& name, uint32_t count,
                                   const std::string& backend) {
  scenario s;
  s.name = name;
  group g;
  g.name = "observer";
  g.role = "observer";
  g.count = count;
  g.node.program = "litecoin-regtest";
  g.node.params = {{"utxos_per_node", 1}};
  s.topology.groups.push_back(g);
  s.topology.layout.kind = layout_kind::random;
  s.topology.layout.degree = 4;
  s.backend.name = backend;
  s.backend.params = {{"poll_interval", "1s"}, {"ready_timeout", "120s"}};
  return s;
}

} // namespace troupe::bench
