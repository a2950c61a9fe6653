#include "expectations/safety.hpp"

#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "actors/units.hpp"

namespace troupe::expectations {

namespace safety_detail {

using nlohmann::json;

struct final_block {
  std::string hash;
  std::string node;
  std::string producer;
};

struct state {
  run_context_ptr ctx;
  std::string name;
  // height -> the first honest finalization: looked up, never iterated, so hash order
  // cannot leak.
  std::unordered_map<uint64_t, final_block> final_by_height;
  /// Byzantine nodes (the scenario's `byzantine` workloads) -> what they do; and identities
  /// whose blocks may come from one (a twin signs as the node it twins).
  std::map<std::string, std::string> byzantine;
  std::map<std::string, std::string> byzantine_identities;
  uint64_t finalizations = 0;
  uint64_t byzantine_finalizations = 0; ///< not judged: a Byzantine node's view proves nothing
  uint64_t violations = 0;
  std::map<std::string, uint64_t> conflicts_by_producer; ///< Byzantine producers behind them
  json examples = json::array();                         ///< first conflicts, bounded
};

using actor_t = caf::stateful_actor<state>;

std::vector<std::string> selectors_of(const json& v) {
  std::vector<std::string> out;
  if (v.is_string())
    out.push_back(v.get<std::string>());
  else if (v.is_array())
    for (const auto& x : v)
      if (x.is_string())
        out.push_back(x.get<std::string>());
  return out;
}

/// The Byzantine nodes the scenario's `byzantine` workloads name (validated before the run).
void find_byzantine(state& st) {
  for (const auto& w : st.ctx->scenario->workloads) {
    if (w.kind != "byzantine" || !w.params.is_object())
      continue;
    std::string what = w.params.value("behaviour", std::string{});
    const std::string twin_of = what == "twin" ? w.params.value("twin_of", std::string{}) : "";
    if (what == "invalid")
      what += " " + w.params.value("invalid", std::string{"bad_parent"});
    if (!twin_of.empty())
      what += " of " + twin_of;
    const auto sels = selectors_of(w.params.value("nodes", json{}));
    for (const auto& n : st.ctx->topology->nodes)
      for (const auto& sel : sels)
        if (sel == "all" || sel == n.group || sel == n.id) {
          st.byzantine[n.id] = what;
          st.byzantine_identities[twin_of.empty() ? n.id : twin_of] =
            twin_of.empty() ? what : "identity shared with its twin " + n.id;
          break;
        }
  }
}

json describe_block(const state& st, const final_block& b) {
  json j{{"node", b.node}, {"hash", b.hash}};
  if (!b.producer.empty()) {
    j["producer"] = b.producer;
    auto it = st.byzantine_identities.find(b.producer);
    if (it != st.byzantine_identities.end())
      j["byzantine_producer"] = it->second;
  }
  return j;
}

void on_final(actor_t* self, const block_event& ev) {
  auto& st = self->state;
  if (st.byzantine.count(ev.node) != 0) {
    ++st.byzantine_finalizations;
    return;
  }
  ++st.finalizations;
  final_block mine{ev.hash, ev.node, ev.producer};
  auto [it, fresh] = st.final_by_height.emplace(ev.height, mine);
  if (fresh || it->second.hash == ev.hash)
    return;
  ++st.violations;
  for (const final_block* b : {&it->second, &mine})
    if (st.byzantine_identities.count(b->producer) != 0)
      ++st.conflicts_by_producer[b->producer];
  if (st.examples.size() < 10)
    st.examples.push_back(json{{"height", ev.height},
                               {"time_s", st.ctx->since_start(self->clock().now()).count() / 1e9},
                               {"first", describe_block(st, it->second)},
                               {"conflicting", describe_block(st, mine)}});
}

std::string fail_summary(const state& st) {
  const json& first = st.examples[0];
  std::string s = std::to_string(st.violations) + " conflicting finalizations, first at height " +
                  std::to_string(first["height"].get<uint64_t>()) + ": " +
                  first["first"]["node"].get<std::string>() + " vs " +
                  first["conflicting"]["node"].get<std::string>();
  if (!st.conflicts_by_producer.empty()) {
    s += "; Byzantine producers behind them:";
    for (const auto& [who, n] : st.conflicts_by_producer)
      s += " " + who + " (" + st.byzantine_identities.at(who) + ", " + std::to_string(n) +
           " conflicts)";
  }
  return s;
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.ctx = ctx;
  self->state.name = entry.name;
  find_byzantine(self->state);
  return {
    [=](start_atom) { subscribe_all(self, self->state.ctx->nodes, blocks_finalized); },
    [](event_atom, const run_event&) {},
    [=](const block_event& ev) {
      if (ev.kind == block_event::finalized)
        on_final(self, ev);
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
      json evidence{{"finalizations_checked", st.finalizations},
                    {"highest_final_height", top},
                    {"violations", st.violations},
                    {"conflicts", st.examples}};
      if (!st.byzantine.empty()) {
        evidence["byzantine_nodes"] = st.byzantine;
        evidence["byzantine_finalizations_not_judged"] = st.byzantine_finalizations;
        evidence["conflicts_by_byzantine_producer"] = st.conflicts_by_producer;
      }
      v.evidence = evidence.dump();
      if (v.pass) {
        v.summary = std::to_string(st.finalizations) +
                    " finalizations checked, no conflicting final blocks (highest final " +
                    std::to_string(top) + ")";
        if (!st.byzantine.empty())
          v.summary +=
            "; honest nodes only, " + std::to_string(st.byzantine.size()) + " Byzantine survived";
      } else {
        v.summary = fail_summary(st);
      }
      return v;
    },
  };
}

} // namespace safety_detail

actor_kind safety_kind() {
  return make_actor_kind(
    "safety", "no two honest nodes ever finalize different blocks at the same height",
    [](params_reader&, const scenario&) {}, safety_detail::behavior);
}

} // namespace troupe::expectations
