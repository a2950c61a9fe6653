#include "tests/sim/test_models.hpp"

#include <chrono>

namespace troupe::sim::testing {

void hop_model::forward(node_context& ctx, uint64_t hops) {
  message m;
  m.kind = 1;
  m.bytes = 64;
  m.a = hops - 1;
  m.payload_hash = m.a * 0x9E3779B97F4A7C15ULL + ctx.self();
  if (leak_ && hops == 3) {
    // Deliberately nondeterministic: the wall clock reaches the payload (what the
    // divergence check must catch and name).
    m.payload_hash ^=
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  ctx.send(static_cast<node_index>(ctx.rng().below(nodes_)), std::move(m));
}

} // namespace troupe::sim::testing
