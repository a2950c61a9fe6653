#include "expectations/consensus_liveness.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"

namespace troupe::expectations {

namespace consensus_liveness_detail {

using nlohmann::json;

struct params {
  uint64_t min_height = 1;
  uint64_t max_lag = 5;
  /// Blocks the highest node must gain during the run. Live chains do not start at 0 (a
  /// litecoind network mines its wallets' coins first), so growth is what shows liveness.
  uint64_t min_growth = 0;
};

params read(params_reader& r, const scenario&) {
  params p;
  p.min_height = static_cast<uint64_t>(r.integer("min_height", 1, 0, INT64_MAX));
  p.max_lag = static_cast<uint64_t>(r.integer("max_lag", 5, 0, INT64_MAX));
  p.min_growth = static_cast<uint64_t>(r.integer("min_growth", 0, 0, INT64_MAX));
  return p;
}

verdict judge(const std::string& name, const params& p, const std::vector<node_status>& all,
              uint64_t start_height) {
  verdict v;
  v.name = name;
  v.kind = "consensus_liveness";
  uint64_t lo = UINT64_MAX, hi = 0;
  size_t up = 0;
  for (const auto& s : all)
    if (s.up) {
      ++up;
      lo = std::min(lo, s.height);
      hi = std::max(hi, s.height);
    }
  json low = json::array(), lagging = json::array();
  for (const auto& s : all)
    if (s.up) {
      if (s.height < p.min_height)
        low.push_back(json{{"node", s.id}, {"height", s.height}});
      if (hi - s.height > p.max_lag)
        lagging.push_back(json{{"node", s.id}, {"height", s.height}, {"lag", hi - s.height}});
    }
  if (up == 0)
    lo = 0;
  const uint64_t growth = hi > start_height ? hi - start_height : 0;
  v.pass = up > 0 && low.empty() && lagging.empty() && growth >= p.min_growth;
  v.evidence = json{
    {"up_nodes", up},
    {"nodes", all.size()},
    {"min_height", lo},
    {"max_height", hi},
    {"required_min_height", p.min_height},
    {"max_lag_allowed", p.max_lag},
    {"height_at_start", start_height},
    {"growth", growth},
    {"required_min_growth", p.min_growth},
    {"below_min_height", low},
    {"lagging",
     lagging}}.dump();
  v.summary = std::to_string(up) + "/" + std::to_string(all.size()) + " nodes up, heights " +
              std::to_string(lo) + ".." + std::to_string(hi) +
              " (need >= " + std::to_string(p.min_height) +
              ", lag <= " + std::to_string(p.max_lag) + "), +" + std::to_string(growth) +
              " blocks during the run";
  if (p.min_growth > 0)
    v.summary += " (need +" + std::to_string(p.min_growth) + ")";
  if (up == 0)
    v.summary = "no node is up";
  else if (!low.empty())
    v.summary += "; " + std::to_string(low.size()) + " below min_height, e.g. " +
                 low[0]["node"].get<std::string>();
  else if (!lagging.empty())
    v.summary += "; " + std::to_string(lagging.size()) + " lagging, e.g. " +
                 lagging[0]["node"].get<std::string>();
  return v;
}

struct state {
  uint64_t start_height = 0;
};

caf::behavior behavior(caf::stateful_actor<state>* self, run_context_ptr ctx, kind_entry entry) {
  auto p = read_validated(read, entry, *ctx->scenario);
  return {
    [=](start_atom) {
      collect_status(self, *ctx, [self](const std::vector<node_status>& all) {
        for (const auto& s : all)
          if (s.up)
            self->state.start_height = std::max(self->state.start_height, s.height);
      });
    },
    [](event_atom, const run_event&) {},
    [=](evaluate_atom) {
      return judge_with_status(self, *ctx, [=](const std::vector<node_status>& all) {
        return judge(entry.name, p, all, self->state.start_height);
      });
    },
  };
}

} // namespace consensus_liveness_detail

actor_kind consensus_liveness_kind() {
  return make_actor_kind("consensus_liveness",
                         "every up node reaches min_height and stays within max_lag of the highest",
                         consensus_liveness_detail::read, consensus_liveness_detail::behavior);
}

} // namespace troupe::expectations
