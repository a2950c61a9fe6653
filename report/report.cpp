#include "report/report.hpp"

#include "report/report_file.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "actors/node_queries.hpp"
#include "actors/runner.hpp"

namespace troupe {

using nlohmann::json;

namespace {

json status_json(const node_status& st) {
  return json{{"id", st.id},
              {"up", st.up},
              {"height", st.height},
              {"tip", st.tip},
              {"final_height", st.final_height},
              {"final_tip", st.final_tip},
              {"peers", st.peers},
              {"mempool", st.mempool}};
}

// Pairs each fault with the heal that ends it, so the report (and its charts) show windows.
json fault_windows(const std::vector<run_event>& events, double end_s) {
  std::vector<json> out;
  for (const auto& ev : events) {
    if (ev.kind != "fault")
      continue;
    json f{{"action", ev.action},
           {"nodes", ev.nodes},
           {"start_s", static_cast<double>(ev.time_ns) / 1e9},
           {"detail", ev.detail}};
    double end = ev.until_ns >= 0 ? static_cast<double>(ev.until_ns) / 1e9 : end_s;
    // A later heal event for the same nodes (or more, or a global heal) closes an open window.
    // Link properties and clock skew are conditions a heal leaves as they are (in both worlds).
    const bool condition = ev.action == "set_link" || ev.action == "clock_skew";
    // A network heal (no nodes) ends cuts and clogs; a node it finds down stays down.
    const bool node_down = ev.action == "kill" || ev.action == "stop" || ev.action == "pause";
    auto covers = [&](const run_event& h) {
      if (condition)
        return false;
      if (h.nodes.empty())
        return !node_down;
      if (ev.nodes.empty())
        return false;
      for (const auto& n : ev.nodes)
        if (std::find(h.nodes.begin(), h.nodes.end(), n) == h.nodes.end())
          return false;
      return true;
    };
    for (const auto& h : events)
      if (h.kind == "heal" && h.time_ns >= ev.time_ns && covers(h)) {
        end = std::min(end, static_cast<double>(h.time_ns) / 1e9);
        break;
      }
    f["end_s"] = std::min(end, end_s);
    out.push_back(f);
  }
  // A fault is reported when the backend has applied it, so on a live backend a slow one (a
  // restart waits for its node) comes after those that started later: order by start.
  std::stable_sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return a["start_s"].get<double>() < b["start_s"].get<double>();
  });
  return json(std::move(out));
}

// What the backend refused to do (never faults: nothing happened), with its reasons.
json refusals(const std::vector<run_event>& events) {
  json out = json::array();
  for (const auto& ev : events)
    if (ev.kind == "refusal")
      out.push_back(json{{"time_s", static_cast<double>(ev.time_ns) / 1e9},
                         {"action", ev.action},
                         {"nodes", ev.nodes},
                         {"reason", ev.detail}});
  return out;
}

// The latency distribution: percentiles over all samples, and the samples themselves for
// the histogram (an even-strided subset beyond 10,000, so the file stays small).
json latency_json(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  json kept = json::array();
  const size_t keep_max = 10000;
  const size_t stride = samples.size() > keep_max ? (samples.size() + keep_max - 1) / keep_max : 1;
  for (size_t i = 0; i < samples.size(); i += stride)
    kept.push_back(std::round(samples[i] * 1e6) / 1e6);
  return json{{"definition", "seconds from submission to the first finalization on any node"},
              {"count", samples.size()},
              {"p50", percentile(samples, 50)},
              {"p90", percentile(samples, 90)},
              {"p99", percentile(samples, 99)},
              {"max", samples.empty() ? 0.0 : samples.back()},
              {"samples_s", kept}};
}

} // namespace

json build_report(const run_outcome& in, json node_logs) {
  const auto& s = *in.s;
  json r;
  bool all_pass = true;
  json exps = json::array();
  for (const auto& v : in.verdicts) {
    json ev = json::object();
    if (!v.evidence.empty()) {
      try {
        ev = json::parse(v.evidence);
      } catch (const json::exception&) {
        ev = json{{"text", v.evidence}};
      }
    }
    exps.push_back(json{{"name", v.name},
                        {"kind", v.kind},
                        {"pass", v.pass},
                        {"summary", v.summary},
                        {"evidence", ev}});
    all_pass = all_pass && v.pass;
  }
  std::string verdict;
  if (!in.error.empty())
    verdict = in.error.rfind("interrupted", 0) == 0 ? "interrupted" : "error";
  else
    verdict = all_pass ? "pass" : "fail";
  r["verdict"] = verdict;
  r["scenario"] = s.name;
  r["seed"] = s.seed;
  r["backend"] = in.backend;
  r["digest"] = in.backend_results.value("digest", json());
  r["expectations"] = exps;
  json nodes = json::array();
  for (size_t i = 0; i < in.final_status.size(); ++i) {
    auto n = status_json(in.final_status[i]);
    if (in.topo && i < in.topo->nodes.size()) {
      n["group"] = in.topo->nodes[i].group;
      n["role"] = in.topo->nodes[i].role;
    }
    nodes.push_back(n);
  }
  r["nodes"] = nodes;
  json heights = json::object();
  for (size_t i = 0; i < in.heights.size() && in.topo && i < in.topo->nodes.size(); ++i)
    heights[in.topo->nodes[i].id] = in.heights[i];
  json counter_series = json::object();
  for (const auto& [name, values] : in.counter_series)
    counter_series[name] = values;
  r["series"] =
    json{{"time_s", in.sample_times_s}, {"heights", heights}, {"counters", counter_series}};
  r["tx_latency"] = latency_json(in.tx_latencies_s);
  r["node_logs"] = std::move(node_logs);
  const double end_s =
    in.run_seconds > 0 ? in.run_seconds : std::chrono::duration<double>(s.run_duration).count();
  r["faults"] = fault_windows(in.events, end_s);
  r["refusals"] = refusals(in.events);
  // Node-side commands (the `commands` workload): each run's node, exit status, last lines.
  json commands = json::array();
  for (const auto& ev : in.events)
    if (ev.kind == "command") {
      json c = json::parse(ev.detail, nullptr, false);
      if (c.is_object()) {
        c["time_s"] = static_cast<double>(ev.time_ns) / 1e9;
        commands.push_back(std::move(c));
      }
    }
  if (!commands.empty())
    r["commands"] = commands;
  // A job campaign's summary, series and phase latencies (the `jobs` workload): the last
  // report of each campaign; `jobs` is the last campaign's, for the HTML report.
  json campaigns = json::object();
  for (const auto& ev : in.events)
    if (ev.kind == "jobs")
      campaigns[ev.action] = json::parse(ev.detail, nullptr, false);
  if (!campaigns.empty()) {
    r["campaigns"] = campaigns;
    r["jobs"] = campaigns.back();
  }
  json counters = in.backend_results.value("counters", json::object());
  counters["txs_submitted"] = in.txs_submitted;
  counters["txs_rejected"] = in.txs_rejected;
  counters["txs_final_anywhere"] = in.txs_final;
  counters["faults"] = r["faults"].size();
  counters["refusals"] = r["refusals"].size();
  // txs_included comes from the tx_inclusion expectation when the scenario has one.
  for (const auto& e : exps)
    if (e["kind"] == "tx_inclusion" && e["evidence"].contains("included"))
      counters["txs_included"] = e["evidence"]["included"];
  r["counters"] = counters;
  json timing{{"wall_seconds", in.wall_seconds}};
  if (in.virtual_time) {
    timing["simulated_seconds"] = in.run_seconds;
    timing["speedup"] = in.wall_seconds > 0 ? in.run_seconds / in.wall_seconds : 0.0;
  } else {
    timing["simulated_seconds"] = nullptr;
    timing["run_seconds"] = in.run_seconds;
  }
  r["timing"] = timing;
  r["topology"] = json{{"nodes", in.topo ? in.topo->nodes.size() : 0},
                       {"links", in.topo ? in.topo->edges.size() : 0},
                       {"layout", to_string(s.topology.layout.kind)}};
  for (auto it = in.backend_results.begin(); it != in.backend_results.end(); ++it)
    if (!r.contains(it.key()) && it.key() != "counters")
      r[it.key()] = it.value();
  r["reproduce"] = in.reproduce;
  r["error"] = in.error.empty() ? json() : json(in.error);
  return r;
}

void write_report(const std::filesystem::path& run_dir, const json& report) {
  write_file_atomic(run_dir / "report.json", report.dump(2) + "\n");
}

namespace {

std::string summary_number(double v) {
  std::ostringstream o;
  o.precision(v != 0 && std::fabs(v) < 1 ? 3 : 6);
  o << v;
  return o.str();
}

} // namespace

std::string program_metrics_summary(const json& r) {
  if (!r.contains("program_metrics") || !r["program_metrics"].contains("series"))
    return "";
  std::ostringstream out;
  for (auto it = r["program_metrics"]["series"].begin(); it != r["program_metrics"]["series"].end();
       ++it) {
    const auto& total = it.value().value("total", json::object());
    out << "metric " << it.key() << ": ";
    if (!total.contains("last")) {
      out << "not reported by any scraped node\n";
      continue;
    }
    out << total.value("nodes_with_samples", 0) << " nodes, sum "
        << summary_number(total["first"].get<double>()) << " -> "
        << summary_number(total["last"].get<double>());
    if (total.contains("rate_per_s") && total["rate_per_s"].is_number())
      out << " (" << summary_number(total["rate_per_s"].get<double>()) << "/s)";
    else if (!total.contains("rate_per_s"))
      out << ", range " << summary_number(total["min"].get<double>()) << ".."
          << summary_number(total["max"].get<double>()) << " per node";
    out << "\n";
  }
  return out.str();
}

std::string console_summary(const json& r) {
  std::ostringstream out;
  for (const auto& e : r["expectations"])
    out << (e["pass"].get<bool>() ? "PASS " : "FAIL ") << e["name"].get<std::string>() << ": "
        << e["summary"].get<std::string>() << "\n";
  const auto& t = r["timing"];
  out << "verdict: " << r["verdict"].get<std::string>() << " — scenario "
      << r["scenario"].get<std::string>() << ", seed " << r["seed"] << ", backend "
      << r["backend"].get<std::string>();
  if (!r["digest"].is_null())
    out << ", digest " << r["digest"].get<std::string>();
  if (!t["simulated_seconds"].is_null())
    out << ", " << t["simulated_seconds"].get<double>() << " s simulated in "
        << t["wall_seconds"].get<double>() << " s";
  out << "\n";
  out << program_metrics_summary(r);
  if (r.contains("refusals") && !r["refusals"].empty()) {
    const auto& refused = r["refusals"];
    out << "refused: " << refused.size()
        << (refused.size() == 1 ? " control or fault" : " controls or faults")
        << " the backend could not apply (never counted as faults):\n";
    const size_t shown_max = 10;
    for (size_t i = 0; i < refused.size() && i < shown_max; ++i)
      out << "  t=" << summary_number(refused[i].value("time_s", 0.0)) << "s "
          << refused[i].value("action", "") << ": " << refused[i].value("reason", "") << "\n";
    if (refused.size() > shown_max)
      out << "  ... and " << refused.size() - shown_max << " more in report.json\n";
  }
  if (!r["error"].is_null())
    out << "error: " << r["error"].get<std::string>() << "\n";
  if (r["verdict"] != "pass")
    out << "reproduce: " << r["reproduce"].get<std::string>() << "\n";
  return out.str();
}

} // namespace troupe
