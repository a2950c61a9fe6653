#include "expectations/safety.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "actors/units.hpp"

namespace troupe::expectations {

namespace {

using nlohmann::json;

struct state {
  run_context_ptr ctx;
  std::string name;
  // height -> (hash, first node): looked up, never iterated, so hash order cannot leak.
  std::unordered_map<uint64_t, std::pair<std::string, std::string>> final_by_height;
  uint64_t finalizations = 0;
  uint64_t violations = 0;
  json examples = json::array(); ///< first conflicts, bounded
};

using actor_t = caf::stateful_actor<state>;

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.ctx = ctx;
  self->state.name = entry.name;
  return {
    [=](start_atom) { subscribe_all(self, self->state.ctx->nodes, blocks_finalized); },
    [](event_atom, const run_event&) {},
    [=](const block_event& ev) {
      if (ev.kind != block_event::finalized)
        return;
      auto& st = self->state;
      ++st.finalizations;
      auto [it, fresh] = st.final_by_height.emplace(ev.height, std::make_pair(ev.hash, ev.node));
      if (!fresh && it->second.first != ev.hash) {
        ++st.violations;
        if (st.examples.size() < 10)
          st.examples.push_back(
            json{{"height", ev.height},
                 {"time_s", st.ctx->since_start(self->clock().now()).count() / 1e9},
                 {"first", json{{"node", it->second.second}, {"hash", it->second.first}}},
                 {"conflicting", json{{"node", ev.node}, {"hash", ev.hash}}}});
      }
    },
    [=](evaluate_atom) {
      auto& st = self->state;
      verdict v;
      v.name = st.name;
      v.kind = "safety";
      v.pass = st.violations == 0;
      uint64_t top = 0;
      for (const auto& kv : st.final_by_height)
        top = std::max(top, kv.first); // a max: order-independent
      v.evidence = json{{"finalizations_checked", st.finalizations},
                        {"highest_final_height", top},
                        {"violations", st.violations},
                        {"conflicts", st.examples}}
                     .dump();
      if (v.pass)
        v.summary = std::to_string(st.finalizations) +
                    " finalizations checked, no conflicting final blocks (highest final " +
                    std::to_string(top) + ")";
      else
        v.summary = std::to_string(st.violations) + " conflicting finalizations, first at height " +
                    std::to_string(st.examples[0]["height"].get<uint64_t>()) + ": " +
                    st.examples[0]["first"]["node"].get<std::string>() + " vs " +
                    st.examples[0]["conflicting"]["node"].get<std::string>();
      return v;
    },
  };
}

} // namespace

actor_kind safety_kind() {
  return make_actor_kind(
    "safety", "no two nodes ever finalize different blocks at the same height",
    [](params_reader&, const scenario&) {}, behavior);
}

} // namespace troupe::expectations
