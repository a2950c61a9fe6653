#include "expectations/tx_inclusion.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"

namespace troupe::expectations {

namespace tx_inclusion_detail {

using nlohmann::json;

struct params {
  double min_ratio = 0.95;
  duration exclude_last{}; ///< transactions submitted this close to the end are not judged
};

params read(params_reader& r, const scenario&) {
  params p;
  p.min_ratio = r.probability("min_ratio", p.min_ratio);
  p.exclude_last = r.dur("exclude_last", p.exclude_last);
  return p;
}

struct tx_record {
  int64_t submitted_ns = -1;
  int64_t first_final_ns = -1;
  std::vector<bool> final_on; ///< per node index
};

struct state {
  run_context_ptr ctx;
  params p;
  std::string name;
  std::map<std::string, uint32_t> node_index;
  // Records in submission order (evidence lists follow it: stable), found by id through a
  // hash index that is only looked up, never iterated.
  std::vector<std::pair<std::string, tx_record>> txs;
  std::unordered_map<std::string, size_t> tx_index;

  tx_record& record(const std::string& id) {
    // Look up first: emplace builds its node (an allocation and a copy of the id) before it
    // finds the id already there, and almost every call is for a known transaction (one per
    // node that finalizes it).
    auto it = tx_index.find(id);
    if (it == tx_index.end()) {
      it = tx_index.emplace(id, txs.size()).first;
      txs.emplace_back(id, tx_record{});
    }
    return txs[it->second].second;
  }
};

using actor_t = caf::stateful_actor<state>;

verdict judge(actor_t* self, const std::vector<node_status>& all) {
  auto& st = self->state;
  const int64_t end_ns = st.ctx->since_start(self->clock().now()).count();
  const int64_t cutoff = end_ns - st.p.exclude_last.count();
  std::vector<uint32_t> up;
  for (uint32_t i = 0; i < all.size(); ++i)
    if (all[i].up)
      up.push_back(i);
  uint64_t judged = 0, included = 0;
  std::vector<double> latencies;
  json missing = json::array();
  json not_final_on = json::object(); ///< for each example: the up nodes it is not final on
  for (const auto& [id, t] : st.txs) {
    if (t.submitted_ns < 0 || t.submitted_ns > cutoff)
      continue;
    ++judged;
    bool everywhere = !up.empty();
    for (auto i : up)
      everywhere = everywhere && i < t.final_on.size() && t.final_on[i];
    if (everywhere) {
      ++included;
      latencies.push_back((t.first_final_ns - t.submitted_ns) / 1e9);
    } else if (missing.size() < 10) {
      missing.push_back(id);
      json where = json::array();
      for (auto i : up)
        if (i >= t.final_on.size() || !t.final_on[i])
          where.push_back(st.ctx->nodes[i].id);
      not_final_on[id] = std::move(where);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  const double ratio = judged ? static_cast<double>(included) / judged : 0.0;
  verdict v;
  v.name = st.name;
  v.kind = "tx_inclusion";
  v.pass = judged > 0 && ratio >= st.p.min_ratio;
  const double p50 = percentile(latencies, 50), p90 = percentile(latencies, 90),
               p99 = percentile(latencies, 99);
  v.evidence = json{{"submitted", judged},
                    {"included", included},
                    {"ratio", ratio},
                    {"min_ratio", st.p.min_ratio},
                    {"latency_s", json{{"p50", p50}, {"p90", p90}, {"p99", p99}}},
                    {"latencies_s", latencies.size() <= 5000 ? json(latencies) : json()},
                    {"missing_examples", missing},
                    {"not_final_on", not_final_on}}
                 .dump();
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%llu/%llu final on every up node (%.1f%%, need %.1f%%); latency p50 %.2fs "
                "p90 %.2fs p99 %.2fs",
                static_cast<unsigned long long>(included), static_cast<unsigned long long>(judged),
                ratio * 100, st.p.min_ratio * 100, p50, p90, p99);
  v.summary = judged == 0 ? "no transaction was submitted" : buf;
  return v;
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  auto& st = self->state;
  st.p = read_validated(read, entry, *ctx->scenario);
  st.ctx = ctx;
  st.name = entry.name;
  for (uint32_t i = 0; i < ctx->nodes.size(); ++i)
    st.node_index[ctx->nodes[i].id] = i;
  return {
    [=](start_atom) { subscribe_all(self, self->state.ctx->nodes, blocks_finalized); },
    [=](event_atom, const run_event& ev) {
      if (ev.kind == "tx" && ev.action == "submitted")
        self->state.record(ev.detail).submitted_ns = ev.time_ns;
    },
    [=](const block_event& ev) {
      if (ev.kind != block_event::finalized)
        return;
      auto& st = self->state;
      auto ni = st.node_index.find(ev.node);
      if (ni == st.node_index.end())
        return;
      const int64_t now_ns = st.ctx->since_start(self->clock().now()).count();
      for (const auto& id : ev.txs) {
        auto& t = st.record(id);
        if (t.final_on.empty())
          t.final_on.resize(st.node_index.size());
        t.final_on[ni->second] = true;
        if (t.first_final_ns < 0)
          t.first_final_ns = now_ns;
      }
    },
    [=](evaluate_atom) {
      return judge_with_status(self, *self->state.ctx, [=](const std::vector<node_status>& all) {
        return judge(self, all);
      });
    },
  };
}

} // namespace tx_inclusion_detail

actor_kind tx_inclusion_kind() {
  return make_actor_kind("tx_inclusion",
                         "a ratio of submitted transactions is final on every up node by the end",
                         tx_inclusion_detail::read, tx_inclusion_detail::behavior);
}

} // namespace troupe::expectations
