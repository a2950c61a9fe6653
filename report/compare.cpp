#include "report/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "report/report_file.hpp"

namespace troupe {

using nlohmann::json;

namespace {

const json& field(const json& j, const char* key) {
  static const json null_value;
  return j.is_object() && j.contains(key) ? j[key] : null_value;
}

json number_or_null(const json& v) { return v.is_number() ? json(v.get<double>()) : json(); }

/// A run's length in seconds: simulated for sim, the run's own for live.
double run_seconds(const json& r) {
  const auto& t = field(r, "timing");
  for (const char* k : {"simulated_seconds", "run_seconds"})
    if (field(t, k).is_number())
      return field(t, k).get<double>();
  const auto& times = field(field(r, "series"), "time_s");
  return times.is_array() && !times.empty() && times.back().is_number() ? times.back().get<double>()
                                                                        : 0.0;
}

json run_facts(const compared_run& c) {
  const auto& r = c.report;
  return json{{"label", c.label},
              {"run_dir", c.run_dir},
              {"scenario", field(r, "scenario")},
              {"backend", field(r, "backend")},
              {"seed", field(r, "seed")},
              {"verdict", field(r, "verdict")},
              {"digest", field(r, "digest")},
              {"seconds", run_seconds(r)}};
}

// -- heights --------------------------------------------------------------------------

/// Node id -> group, from report.json `nodes`.
std::map<std::string, std::string> groups_of(const json& r) {
  std::map<std::string, std::string> out;
  for (const auto& n : field(r, "nodes"))
    if (n.is_object() && field(n, "id").is_string())
      out[n["id"].get<std::string>()] =
        field(n, "group").is_string() ? n["group"].get<std::string>() : "nodes";
  return out;
}

/// One run's height samples: times, and per node its heights (NaN where it had none).
struct height_series {
  std::vector<double> time_s;
  std::map<std::string, std::vector<double>> by_node;
};

height_series heights_of(const json& r) {
  height_series out;
  const auto& s = field(r, "series");
  for (const auto& t : field(s, "time_s"))
    out.time_s.push_back(t.is_number() ? t.get<double>() : NAN);
  const auto& h = field(s, "heights");
  if (h.is_object())
    for (auto it = h.begin(); it != h.end(); ++it) {
      auto& v = out.by_node[it.key()];
      for (const auto& x : it.value())
        v.push_back(x.is_number() ? x.get<double>() : NAN);
      v.resize(out.time_s.size(), NAN);
    }
  return out;
}

/// The index of the last sample at or before `t` (-1 when none).
long sample_at(const std::vector<double>& times, double t) {
  auto it = std::upper_bound(times.begin(), times.end(), t + 1e-9);
  return static_cast<long>(it - times.begin()) - 1;
}

/// The highest height among `nodes` at sample `i` (NaN when none has one).
double group_max(const height_series& h, const std::vector<std::string>& nodes, long i) {
  double best = NAN;
  if (i < 0)
    return best;
  for (const auto& n : nodes) {
    auto it = h.by_node.find(n);
    if (it == h.by_node.end() || static_cast<size_t>(i) >= it->second.size())
      continue;
    const double v = it->second[static_cast<size_t>(i)];
    if (std::isfinite(v) && !(v <= best))
      best = v;
  }
  return best;
}

/// Sampling step of a run (the median gap between samples; 1 s when it has too few).
double step_of(const std::vector<double>& t) {
  std::vector<double> gaps;
  for (size_t i = 1; i < t.size(); ++i)
    if (std::isfinite(t[i]) && std::isfinite(t[i - 1]) && t[i] > t[i - 1])
      gaps.push_back(t[i] - t[i - 1]);
  if (gaps.empty())
    return 1.0;
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
  return gaps[gaps.size() / 2];
}

/// Sets out["heights"] and out["widest_gap"].
void compare_heights(const json& ra, const json& rb, json& out) {
  const auto ha = heights_of(ra), hb = heights_of(rb);
  std::map<std::string, std::vector<std::string>> members_a, members_b;
  for (const auto& [node, group] : groups_of(ra))
    members_a[group].push_back(node);
  for (const auto& [node, group] : groups_of(rb))
    members_b[group].push_back(node);
  const double step = std::max(step_of(ha.time_s), step_of(hb.time_s));
  const double end = std::min(ha.time_s.empty() ? 0.0 : ha.time_s.back(),
                              hb.time_s.empty() ? 0.0 : hb.time_s.back());
  json grid = json::array();
  const size_t points_max = 2000; // a page, not a data dump
  const double dt = std::max(step, end / static_cast<double>(points_max));
  for (double t = 0; t <= end + 1e-9 && grid.size() < points_max + 1; t += dt)
    grid.push_back(t);
  json groups = json::object();
  json widest = nullptr;
  double widest_gap = -1;
  for (const auto& [group, nodes_a] : members_a) {
    auto itb = members_b.find(group);
    if (itb == members_b.end())
      continue;
    json a = json::array(), b = json::array();
    for (const auto& t : grid) {
      const double ta = t.get<double>();
      const double va = group_max(ha, nodes_a, sample_at(ha.time_s, ta));
      const double vb = group_max(hb, itb->second, sample_at(hb.time_s, ta));
      a.push_back(std::isfinite(va) ? json(va) : json());
      b.push_back(std::isfinite(vb) ? json(vb) : json());
      if (std::isfinite(va) && std::isfinite(vb) && std::fabs(va - vb) > widest_gap) {
        widest_gap = std::fabs(va - vb);
        widest = json{{"group", group}, {"time_s", ta}, {"a", va}, {"b", vb}, {"gap", widest_gap}};
      }
    }
    groups[group] = json{{"a", a}, {"b", b}};
  }
  out["heights"] = json{{"time_s", grid}, {"groups", groups}};
  out["widest_gap"] = widest;
}

// -- recoveries -----------------------------------------------------------------------

/// Seconds from `from_s` until every node's height is within one block of the highest, or
/// NaN when that never happens in the run.
double agreement_after(const height_series& h, double from_s) {
  for (size_t i = 0; i < h.time_s.size(); ++i) {
    if (!(h.time_s[i] >= from_s))
      continue;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& [node, v] : h.by_node)
      if (i < v.size() && std::isfinite(v[i])) {
        lo = std::min(lo, v[i]);
        hi = std::max(hi, v[i]);
      }
    if (hi >= lo && hi - lo <= 1)
      return h.time_s[i] - from_s;
  }
  return NAN;
}

json compare_recoveries(const json& ra, const json& rb) {
  const auto ha = heights_of(ra), hb = heights_of(rb);
  const auto& fa = field(ra, "faults");
  const auto& fb = field(rb, "faults");
  json out = json::array();
  if (!fa.is_array() || !fb.is_array())
    return out;
  for (size_t i = 0; i < fa.size() && i < fb.size(); ++i) {
    const auto& a = fa[i];
    const auto& b = fb[i];
    if (field(a, "action") != field(b, "action") || !field(a, "end_s").is_number() ||
        !field(b, "end_s").is_number())
      continue;
    const double ea = a["end_s"].get<double>(), eb = b["end_s"].get<double>();
    const double sa = agreement_after(ha, ea), sb = agreement_after(hb, eb);
    out.push_back(json{{"action", a["action"]},
                       {"a_heal_s", ea},
                       {"b_heal_s", eb},
                       {"a_s", std::isfinite(sa) ? json(sa) : json()},
                       {"b_s", std::isfinite(sb) ? json(sb) : json()}});
  }
  return out;
}

// -- figures --------------------------------------------------------------------------

double max_height(const json& r) {
  double best = NAN;
  for (const auto& n : field(r, "nodes"))
    if (field(n, "height").is_number() && !(n["height"].get<double>() <= best))
      best = n["height"].get<double>();
  return best;
}

json counter(const json& r, const char* name) {
  return number_or_null(field(field(r, "counters"), name));
}

json inclusion(const json& r) {
  const auto& c = field(r, "counters");
  const auto& sub = field(c, "txs_submitted");
  const auto& inc = field(c, "txs_included");
  if (!sub.is_number() || !inc.is_number() || sub.get<double>() <= 0)
    return nullptr;
  return inc.get<double>() / sub.get<double>();
}

json convergence_s(const json& r) {
  for (const auto& e : field(r, "expectations"))
    if (field(e, "kind") == "convergence")
      return number_or_null(field(field(e, "evidence"), "took_s"));
  return nullptr;
}

json blocks_per_minute(const json& r) {
  const double h = max_height(r), s = run_seconds(r);
  return std::isfinite(h) && s > 0 ? json(h / (s / 60.0)) : json();
}

json count_of(const json& r, const char* key) {
  const auto& v = field(r, key);
  return v.is_array() ? json(v.size()) : json();
}

json figure(const std::string& name, const std::string& unit, const json& a, const json& b) {
  json f{{"name", name}, {"unit", unit},          {"a", a},
         {"b", b},       {"difference", nullptr}, {"relative", nullptr}};
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    f["difference"] = y - x;
    const double scale = std::max(std::fabs(x), std::fabs(y));
    f["relative"] = scale > 0 ? std::fabs(y - x) / scale : 0.0;
  }
  return f;
}

json figures(const json& ra, const json& rb) {
  json out = json::array();
  auto add = [&](const std::string& name, const std::string& unit, auto get) {
    out.push_back(figure(name, unit, get(ra), get(rb)));
  };
  add("highest height", "blocks", [](const json& r) {
    const double h = max_height(r);
    return std::isfinite(h) ? json(h) : json();
  });
  add("blocks per minute", "1/min", blocks_per_minute);
  add("forks", "", [](const json& r) { return counter(r, "forks"); });
  add("reorgs", "", [](const json& r) { return counter(r, "reorgs"); });
  for (const char* p : {"p50", "p90", "p99"})
    add(std::string("transaction latency ") + p, "s",
        [p](const json& r) { return number_or_null(field(field(r, "tx_latency"), p)); });
  add("transactions submitted", "", [](const json& r) { return counter(r, "txs_submitted"); });
  add("inclusion", "ratio", inclusion);
  add("convergence after the last heal", "s", convergence_s);
  add("faults", "", [](const json& r) { return count_of(r, "faults"); });
  add("refusals", "", [](const json& r) { return count_of(r, "refusals"); });
  return out;
}

json expectations(const json& ra, const json& rb) {
  std::map<std::string, json> by_name;
  std::vector<std::string> order;
  auto put = [&](const json& r, const char* side) {
    for (const auto& e : field(r, "expectations")) {
      const auto name = field(e, "name").is_string() ? e["name"].get<std::string>() : "";
      if (!by_name.count(name)) {
        order.push_back(name);
        by_name[name] = json{{"name", name},      {"kind", field(e, "kind")}, {"a_pass", nullptr},
                             {"b_pass", nullptr}, {"a_summary", ""},          {"b_summary", ""}};
      }
      by_name[name][std::string(side) + "_pass"] = field(e, "pass");
      by_name[name][std::string(side) + "_summary"] = field(e, "summary");
    }
  };
  put(ra, "a");
  put(rb, "b");
  json out = json::array();
  for (const auto& n : order)
    out.push_back(by_name[n]);
  return out;
}

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, std::fabs(v) >= 100 || v == std::round(v) ? "%.0f" : "%.3g", v);
  return buf;
}

/// The figures both runs have, largest relative difference first, each with a sentence.
json differences(const json& figs, const json& ra, const json& rb, const json& widest) {
  json ranked = json::array();
  for (const auto& f : figs)
    if (f["relative"].is_number() && f["relative"].get<double>() > 0)
      ranked.push_back(f);
  std::stable_sort(ranked.begin(), ranked.end(), [](const json& x, const json& y) {
    return x["relative"].get<double>() > y["relative"].get<double>();
  });
  json out = json::array();
  for (const auto& f : ranked) {
    const double a = f["a"].get<double>(), b = f["b"].get<double>();
    const std::string unit = f["unit"].get<std::string>();
    const std::string u = unit.empty() || unit == "ratio" ? "" : " " + unit;
    out.push_back(
      json{{"name", f["name"]},
           {"relative", f["relative"]},
           {"sentence", f["name"].get<std::string>() + ": " + short_number(a) + u + " against " +
                          short_number(b) + u + " (" +
                          short_number(100 * f["relative"].get<double>()) + "% apart)"}});
  }
  for (const auto& e : expectations(ra, rb))
    if (e["a_pass"].is_boolean() && e["b_pass"].is_boolean() && e["a_pass"] != e["b_pass"])
      out.insert(out.begin(),
                 json{{"name", e["name"]},
                      {"relative", 1.0},
                      {"sentence", "expectation " + e["name"].get<std::string>() + " " +
                                     (e["a_pass"].get<bool>() ? "passes" : "fails") + " in A and " +
                                     (e["b_pass"].get<bool>() ? "passes" : "fails") + " in B"}});
  if (widest.is_object() && widest["gap"].get<double>() > 0)
    out.push_back(json{{"name", "widest height gap"},
                       {"relative", nullptr},
                       {"sentence", "the " + widest["group"].get<std::string>() +
                                      " heights are furthest apart at t=" +
                                      short_number(widest["time_s"].get<double>()) +
                                      " s: " + short_number(widest["a"].get<double>()) +
                                      " against " + short_number(widest["b"].get<double>())}});
  return out;
}

} // namespace

json compare_reports(const compared_run& a, const compared_run& b) {
  json out;
  out["runs"] = json::array({run_facts(a), run_facts(b)});
  out["same_scenario"] = field(a.report, "scenario") == field(b.report, "scenario");
  out["figures"] = figures(a.report, b.report);
  out["expectations"] = expectations(a.report, b.report);
  compare_heights(a.report, b.report, out);
  out["faults"] = json{{"a", field(a.report, "faults")}, {"b", field(b.report, "faults")}};
  out["recoveries"] = compare_recoveries(a.report, b.report);
  out["differences"] = differences(out["figures"], a.report, b.report, out["widest_gap"]);
  return out;
}

void write_comparison(const std::filesystem::path& out_dir, const json& comparison) {
  std::filesystem::create_directories(out_dir);
  write_file_atomic(out_dir / "compare.json", comparison.dump(2) + "\n");
  write_file_atomic(out_dir / "compare.html", render_compare_html(comparison));
}

} // namespace troupe
