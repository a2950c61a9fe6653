#include "expectations/jobs_complete.hpp"

#include <map>

#include <caf/all.hpp>

#include "actors/echo.hpp"
#include "actors/run_context.hpp"

namespace troupe::expectations {

namespace jobs_complete_detail {

using nlohmann::json;

struct params {
  double min_ratio = 1.0;
  int64_t max_failed = 0;
  std::string workload; ///< empty: every jobs workload
};

params read(params_reader& r, const scenario& s) {
  params p;
  p.min_ratio = r.probability("min_ratio", p.min_ratio);
  p.max_failed = r.integer("max_failed", p.max_failed, 0, INT64_MAX);
  p.workload = r.string("workload", "");
  bool any = false;
  for (const auto& w : s.workloads)
    if (w.kind == "jobs" && (p.workload.empty() || w.name == p.workload))
      any = true;
  if (!any)
    r.errors().push_back(
      {r.path(), p.workload.empty() ? "jobs_complete needs a workload of kind \"jobs\""
                                    : "no workload of kind \"jobs\" is named " + echo(p.workload)});
  return p;
}

struct counts {
  int64_t total = 0, completed = 0, failed = 0;
  bool finished = false;
  json failed_jobs = json::array();
};

// A replay campaign counts as the original's /summary does; a pipeline by engine status.
counts count(const json& detail) {
  counts c;
  c.finished = detail.value("finished", false);
  const auto& s = detail["summary"];
  if (s.contains("replay_summary")) {
    const auto& r = s["replay_summary"];
    c.total = r.value("total_jobs", 0);
    c.completed = r.value("jobs_succeeded", 0);
    c.failed = r.value("jobs_failed", 0);
    c.failed_jobs = r.value("failed_jobs", json::array());
  } else {
    c.total = s.value("total", 0);
    c.completed = s["by_status"].value("completed", 0);
    c.failed = s["by_status"].value("failed", 0);
    c.failed_jobs = s.value("failed", json::array());
  }
  return c;
}

struct state {
  params p;
  std::string name;
  std::map<std::string, json> campaigns; ///< workload name -> last report
};

using actor_t = caf::stateful_actor<state>;

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.p = read_validated(read, entry, *ctx->scenario);
  self->state.name = entry.name;
  return {
    [](start_atom) {},
    [=](event_atom, const run_event& ev) {
      auto& st = self->state;
      if (ev.kind == "jobs" && (st.p.workload.empty() || ev.action == st.p.workload))
        st.campaigns[ev.action] = json::parse(ev.detail);
    },
    [=](evaluate_atom) {
      auto& st = self->state;
      verdict v;
      v.name = st.name;
      v.kind = "jobs_complete";
      v.pass = !st.campaigns.empty();
      json evidence = json::object();
      std::string summary;
      for (const auto& [name, detail] : st.campaigns) {
        auto c = count(detail);
        const double ratio = c.total ? static_cast<double>(c.completed) / c.total : 0.0;
        const bool ok = c.finished && ratio >= st.p.min_ratio && c.failed <= st.p.max_failed;
        v.pass = v.pass && ok;
        evidence[name] =
          json{{"finished", c.finished}, {"total", c.total}, {"completed", c.completed},
               {"failed", c.failed},     {"ratio", ratio},   {"failed_jobs", c.failed_jobs}};
        char buf[200];
        std::snprintf(buf, sizeof buf, "%s: %lld/%lld completed (%.1f%%), %lld failed%s",
                      name.c_str(), static_cast<long long>(c.completed),
                      static_cast<long long>(c.total), ratio * 100,
                      static_cast<long long>(c.failed),
                      c.finished ? "" : ", not finished by the end of the run");
        summary += (summary.empty() ? "" : "; ") + std::string(buf);
        // A campaign that could not start (a busy serve_port, live workers on sim) says why.
        if (detail.contains("error") && detail["error"].is_string() &&
            !detail["error"].get<std::string>().empty()) {
          summary += " (" + detail["error"].get<std::string>() + ")";
          evidence[name]["error"] = detail["error"];
        }
      }
      evidence["min_ratio"] = st.p.min_ratio;
      evidence["max_failed"] = st.p.max_failed;
      v.evidence = evidence.dump();
      v.summary = st.campaigns.empty() ? "no campaign reported" : summary;
      return v;
    },
  };
}

} // namespace jobs_complete_detail

actor_kind jobs_complete_kind() {
  auto k = make_actor_kind("jobs_complete",
                           "job campaigns finished with enough jobs completed and few failed",
                           jobs_complete_detail::read, jobs_complete_detail::behavior);
  k.needs_nodes = false; // it judges campaigns
  return k;
}

} // namespace troupe::expectations
