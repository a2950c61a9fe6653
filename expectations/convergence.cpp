#include "expectations/convergence.hpp"

#include <algorithm>
#include <map>

#include <caf/all.hpp>

#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "actors/units.hpp"

namespace troupe::expectations {

namespace convergence_detail {

using nlohmann::json;
using namespace std::chrono_literals;

struct params {
  duration within = 30s;
  duration poll = 1s;
};

params read(params_reader& r, const scenario&) {
  params p;
  p.within = r.dur("within", p.within, duration::zero(), true);
  p.poll = r.dur("poll", p.poll, 1ms);
  return p;
}

struct sample {
  int64_t time_ns;
  bool converged;
};

struct state {
  run_context_ptr ctx;
  params p;
  std::string name;
  std::vector<sample> samples;
  int64_t quiet_since_ns = 0; ///< when the last fault ended
  int64_t open_fault_ns = -1; ///< a fault with no planned end and no heal after it
  std::string open_fault;
  bool stopped = false;
};

using actor_t = caf::stateful_actor<state>;

// Groups up nodes by tip: {tip: {height, nodes}} (ordered by tip: stable output).
json tips_of(const std::vector<node_status>& all, bool& converged) {
  std::map<std::string, json> tips;
  size_t up = 0;
  for (const auto& s : all) {
    if (!s.up)
      continue;
    ++up;
    auto& t = tips[s.tip];
    if (t.is_null())
      t = json{{"height", s.height}, {"nodes", json::array()}};
    t["nodes"].push_back(s.id);
  }
  converged = up > 0 && tips.size() == 1;
  json out = json::object();
  for (auto& [tip, t] : tips)
    out[tip] = t;
  return out;
}

verdict judge(actor_t* self, const std::vector<node_status>& all) {
  auto& st = self->state;
  bool now_converged = false;
  json tips = tips_of(all, now_converged);
  const int64_t now_ns = st.ctx->since_start(self->clock().now()).count();
  st.samples.push_back({now_ns, now_converged});
  verdict v;
  v.name = st.name;
  v.kind = "convergence";
  int64_t converged_at = -1;
  for (const auto& s : st.samples)
    if (s.time_ns >= st.quiet_since_ns && s.converged) {
      converged_at = s.time_ns;
      break;
    }
  // Converging once is not enough (with no faults, genesis is a shared tip): the up nodes
  // must also share a tip at some instant of the run's last `within`.
  const int64_t final_from = std::max(st.quiet_since_ns, now_ns - st.p.within.count());
  int64_t converged_late = -1;
  for (const auto& s : st.samples)
    if (s.time_ns >= final_from && s.converged)
      converged_late = s.time_ns;
  const double quiet_s = static_cast<double>(st.quiet_since_ns) / 1e9;
  json ev{{"last_fault_healed_s", quiet_s},
          {"within_s", std::chrono::duration<double>(st.p.within).count()},
          {"converged_at_s", converged_at < 0 ? json() : json(converged_at / 1e9)},
          {"converged_at_end", now_converged},
          {"tips_at_end", tips}};
  auto describe_tips = [&] {
    std::string out;
    for (auto it = tips.begin(); it != tips.end(); ++it)
      out += std::string(out.empty() ? "" : " vs ") + it.key() + " (height " +
             std::to_string(it.value()["height"].get<uint64_t>()) + ", " +
             std::to_string(it.value()["nodes"].size()) + " nodes incl. " +
             it.value()["nodes"][0].get<std::string>() + ")";
    return out;
  };
  if (st.open_fault_ns >= 0) {
    v.pass = false;
    ev["open_fault"] = st.open_fault;
    v.summary = "fault \"" + st.open_fault + "\" at " +
                format_duration(duration{st.open_fault_ns}) + " never healed; " +
                std::to_string(tips.size()) + " tips at end: " + describe_tips();
  } else if (converged_at < 0) {
    v.pass = false;
    v.summary = "never converged after the last fault healed at " +
                format_duration(duration{st.quiet_since_ns}) + "; " + std::to_string(tips.size()) +
                " tips at end: " + describe_tips();
  } else if (converged_late < 0) {
    v.pass = false;
    v.summary = "converged at " + format_seconds(duration{converged_at}) +
                " but the up nodes shared no tip in the last " + format_duration(st.p.within) +
                " of the run; " + std::to_string(tips.size()) + " tips at end: " + describe_tips();
  } else {
    const auto took = duration{converged_at - st.quiet_since_ns};
    v.pass = took <= st.p.within;
    ev["took_s"] = std::chrono::duration<double>(took).count();
    ev["converged_late_s"] = static_cast<double>(converged_late) / 1e9;
    if (st.quiet_since_ns == 0)
      v.summary = "no faults; all up nodes on one tip within the last " +
                  format_duration(st.p.within) + " of the run (last at " +
                  format_seconds(duration{converged_late}) + ")";
    else
      v.summary = "all up nodes on one tip " + format_seconds(took) +
                  " after the last fault healed (allowed " + format_duration(st.p.within) + ")";
  }
  v.evidence = ev.dump();
  return v;
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  auto& st = self->state;
  st.p = read_validated(read, entry, *ctx->scenario);
  st.ctx = ctx;
  st.name = entry.name;
  return {
    [=](start_atom) { self->send(self, tick_atom::value); },
    [=](tick_atom) {
      if (self->state.stopped)
        return;
      collect_status(self, *self->state.ctx, [self](const std::vector<node_status>& all) {
        bool converged = false;
        tips_of(all, converged);
        auto& st = self->state;
        st.samples.push_back({st.ctx->since_start(self->clock().now()).count(), converged});
      });
      self->delayed_send(self, self->state.p.poll, tick_atom::value);
    },
    [=](event_atom, const run_event& ev) {
      auto& st = self->state;
      if (ev.kind == "heal") {
        st.quiet_since_ns = std::max(st.quiet_since_ns, ev.time_ns);
        st.open_fault_ns = -1;
      } else if (ev.kind == "fault" && ev.action != "clock_skew" && ev.action != "set_link" &&
                 ev.action != "byzantine") {
        // Skew, link changes and Byzantine nodes are conditions, not outages: convergence is
        // judged under them.
        if (ev.until_ns >= 0) {
          st.quiet_since_ns = std::max(st.quiet_since_ns, ev.until_ns);
        } else {
          st.open_fault_ns = ev.time_ns;
          // A partition lists every node it cut: its name says enough.
          const bool cut = ev.action.rfind("partition", 0) == 0;
          st.open_fault = ev.action + (ev.nodes.empty() || cut ? "" : " " + ev.nodes[0]);
        }
      }
    },
    [=](evaluate_atom) {
      self->state.stopped = true;
      return judge_with_status(self, *self->state.ctx, [=](const std::vector<node_status>& all) {
        return judge(self, all);
      });
    },
  };
}

} // namespace convergence_detail

actor_kind convergence_kind() {
  return make_actor_kind("convergence",
                         "after the last fault heals, all up nodes share one tip within a time",
                         convergence_detail::read, convergence_detail::behavior);
}

} // namespace troupe::expectations
