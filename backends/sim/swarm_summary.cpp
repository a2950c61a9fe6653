#include "backends/sim/swarm_summary.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "actors/echo.hpp"
#include "actors/errors.hpp"
#include "actors/node_queries.hpp"

namespace troupe::backends {

using nlohmann::json;

namespace {

bool parse_u64(const std::string& text, uint64_t& out) {
  if (text.empty() || text.size() > 19)
    return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

/// The figures a swarm compares across seeds, from one report.json (absent ones left out).
json key_figures(const json& r) {
  json f = json::object();
  const json counters = r.value("counters", json::object());
  for (const char* k : {"blocks_produced", "forks", "reorgs", "messages", "drops", "faults",
                        "txs_submitted", "txs_included"})
    if (counters.contains(k) && counters[k].is_number())
      f[k] = counters[k];
  if (r.contains("nodes") && r["nodes"].is_array() && !r["nodes"].empty()) {
    uint64_t h = 0;
    for (const auto& n : r["nodes"])
      h = std::max<uint64_t>(h, n.value("height", uint64_t{0}));
    f["height_max"] = h;
  }
  const json lat = r.value("tx_latency", json::object());
  if (lat.value("count", 0) > 0) {
    f["tx_latency_p50_s"] = lat["p50"];
    f["tx_latency_p99_s"] = lat["p99"];
  }
  return f;
}

json distribution(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v)
    sum += x;
  auto r3 = [](double x) { return std::round(x * 1000) / 1000; };
  return json{{"seeds", v.size()},
              {"min", v.front()},
              {"p10", percentile(v, 10)},
              {"p50", percentile(v, 50)},
              {"p90", percentile(v, 90)},
              {"max", v.back()},
              {"mean", r3(sum / static_cast<double>(v.size()))},
              {"values", v}};
}

/// Pass counts per expectation, in the order the first run lists them.
json expectation_rates(const std::vector<json>& runs) {
  std::vector<std::string> order;
  std::map<std::string, std::pair<uint64_t, uint64_t>> counts; // passed, judged
  std::map<std::string, std::string> kinds;
  for (const auto& run : runs)
    for (const auto& e : run.value("expectations", json::array())) {
      const std::string name = e.value("name", "");
      if (!counts.count(name))
        order.push_back(name);
      kinds[name] = e.value("kind", "");
      auto& c = counts[name];
      c.first += e.value("pass", false) ? 1 : 0;
      ++c.second;
    }
  json out = json::array();
  for (const auto& name : order) {
    const auto [passed, judged] = counts[name];
    out.push_back(
      json{{"name", name},
           {"kind", kinds[name]},
           {"passed", passed},
           {"failed", judged - passed},
           {"pass_rate",
            std::round(1e4 * static_cast<double>(passed) / static_cast<double>(judged)) / 1e4}});
  }
  return out;
}

json figure_distributions(const std::vector<json>& runs) {
  std::map<std::string, std::vector<double>> values;
  for (const auto& run : runs) {
    const json figures = run.value("figures", json::object());
    for (const auto& [k, v] : figures.items())
      if (v.is_number())
        values[k].push_back(v.get<double>());
  }
  json out = json::object();
  for (auto& [k, v] : values)
    out[k] = distribution(std::move(v));
  return out;
}

json plan_json(const swarm_plan& p) {
  return json{{"scenario", p.scenario},
              {"file", p.file},
              {"seeds", json{{"first", p.seed_first}, {"last", p.seed_last}}},
              {"vary", p.vary}};
}

} // namespace

std::vector<uint64_t> shard_seeds(const swarm_plan& p) {
  std::vector<uint64_t> out;
  for (uint64_t s = p.seed_first;; ++s) {
    if ((s - p.seed_first) % p.shard_count == p.shard_index)
      out.push_back(s);
    if (s == p.seed_last)
      break;
  }
  return out;
}

std::pair<uint64_t, uint64_t> parse_seed_range(const std::string& flag, const std::string& text) {
  const auto dots = text.find("..");
  uint64_t a = 0, b = 0;
  const bool ok = dots == std::string::npos
                    ? parse_u64(text, a) && (b = a, true)
                    : parse_u64(text.substr(0, dots), a) && parse_u64(text.substr(dots + 2), b);
  constexpr uint64_t seed_max = 9'223'372'036'854'775'807ull;
  constexpr uint64_t seeds_max = 10'000'000;
  if (!ok || a > seed_max || b > seed_max || b < a)
    throw user_error(flag + ": must be A..B with integers 0 <= A <= B <= " +
                     std::to_string(seed_max) + " (e.g. 1..1000), got " + echo(text));
  if (b - a >= seeds_max)
    throw user_error(flag + ": at most " + std::to_string(seeds_max) + " seeds in one swarm, got " +
                     echo(text) + "; split it with --shard");
  return {a, b};
}

std::pair<uint32_t, uint32_t> parse_shard(const std::string& flag, const std::string& text) {
  const auto slash = text.find('/');
  uint64_t k = 0, m = 0;
  const bool ok = slash != std::string::npos && parse_u64(text.substr(0, slash), k) &&
                  parse_u64(text.substr(slash + 1), m) && m >= 1 && m <= 100000 && k < m;
  if (!ok)
    throw user_error(flag +
                     ": must be K/M with 0 <= K < M <= 100000 (shard K of M, counted "
                     "from 0 like a Kubernetes completion index), got " +
                     echo(text));
  return {static_cast<uint32_t>(k), static_cast<uint32_t>(m)};
}

json seed_result(uint64_t seed, const std::filesystem::path& run_dir, int exit_code,
                 const std::string& reason) {
  json out{{"seed", seed}, {"exit_code", exit_code}};
  std::ifstream in{run_dir / "report.json"};
  json r = reason.empty() && in ? json::parse(in, nullptr, false) : json();
  if (!r.is_object()) {
    out["verdict"] = exit_code == 124 ? "timeout" : "error";
    out["reason"] = reason.empty() ? "the run left no readable report.json" : reason;
    out["failed"] = json::array();
    return out;
  }
  out["verdict"] = r.value("verdict", "error");
  out["digest"] = r.value("digest", json());
  json exps = json::array(), failed = json::array();
  for (const auto& e : r.value("expectations", json::array())) {
    exps.push_back(json{{"name", e.value("name", "")},
                        {"kind", e.value("kind", "")},
                        {"pass", e.value("pass", false)}});
    if (!e.value("pass", false))
      failed.push_back(json{{"name", e.value("name", "")}, {"summary", e.value("summary", "")}});
  }
  out["expectations"] = exps;
  out["failed"] = failed;
  out["figures"] = key_figures(r);
  out["reproduce"] = r.value("reproduce", "");
  if (r.contains("vary"))
    out["vary"] = r["vary"];
  if (r.contains("error") && r["error"].is_string())
    out["reason"] = r["error"];
  return out;
}

json summarise_swarm(const swarm_plan& p, std::vector<json> runs, bool interrupted) {
  std::sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
    return a["seed"].get<uint64_t>() < b["seed"].get<uint64_t>();
  });
  json out = plan_json(p);
  if (p.shard_count > 1)
    out["shard"] = json{{"index", p.shard_index}, {"count", p.shard_count}};
  uint64_t passed = 0, failed = 0, other = 0;
  json failing = json::array();
  for (const auto& r : runs) {
    const std::string v = r.value("verdict", "error");
    (v == "pass" ? passed : v == "fail" ? failed : other) += 1;
    if (v == "pass")
      continue;
    json names = json::array();
    for (const auto& f : r["failed"])
      names.push_back(f["name"]);
    failing.push_back(json{{"seed", r["seed"]},
                           {"verdict", v},
                           {"failed", names},
                           {"reproduce", r.value("reproduce", "")}});
  }
  out["planned"] = shard_seeds(p).size();
  out["ran"] = runs.size();
  out["passed"] = passed;
  out["failed"] = failed;
  out["errors"] = other; // errors and timeouts
  out["interrupted"] = interrupted;
  out["verdict"] = interrupted ? "interrupted" : failed + other > 0 ? "fail" : "pass";
  out["expectations"] = expectation_rates(runs);
  out["figures"] = figure_distributions(runs);
  out["failing"] = failing;
  out["runs"] = runs;
  return out;
}

json merge_swarms(const std::vector<json>& shards) {
  if (shards.empty())
    throw user_error("swarm merge: give the directories of every shard of one swarm");
  const json& first = shards.front();
  const json want = json{{"scenario", first.value("scenario", "")},
                         {"file", first.value("file", "")},
                         {"seeds", first.value("seeds", json())},
                         {"vary", first.value("vary", false)}};
  const uint32_t count = first.value("shard", json::object()).value("count", 1u);
  std::set<uint32_t> seen;
  std::vector<json> runs;
  bool interrupted = false;
  for (const auto& s : shards) {
    const json meta = json{{"scenario", s.value("scenario", "")},
                           {"file", s.value("file", "")},
                           {"seeds", s.value("seeds", json())},
                           {"vary", s.value("vary", false)}};
    if (meta != want)
      throw user_error("swarm merge: the shards are not of one swarm: " + meta.dump() +
                       " differs from " + want.dump());
    const json sh = s.value("shard", json{{"index", 0}, {"count", 1}});
    if (sh.value("count", 1u) != count || !seen.insert(sh.value("index", 0u)).second)
      throw user_error("swarm merge: shard " + sh.dump() + " is repeated or not one of " +
                       std::to_string(count) + " shards; give each shard's directory once");
    interrupted = interrupted || s.value("interrupted", false);
    for (const auto& r : s.value("runs", json::array()))
      runs.push_back(r);
  }
  if (seen.size() != count)
    throw user_error("swarm merge: " + std::to_string(seen.size()) + " of " +
                     std::to_string(count) + " shards given; give every shard's directory");
  swarm_plan p;
  p.scenario = want["scenario"];
  p.file = want["file"];
  p.seed_first = want["seeds"].value("first", uint64_t{1});
  p.seed_last = want["seeds"].value("last", uint64_t{1});
  p.vary = want["vary"];
  return summarise_swarm(p, std::move(runs), interrupted);
}

int swarm_exit_code(const json& summary) {
  const std::string v = summary.value("verdict", "error");
  return v == "pass" ? 0 : v == "interrupted" ? 130 : 1;
}

} // namespace troupe::backends
