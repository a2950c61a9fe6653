#include "backends/sim/shrink.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <optional>
#include <set>

#include "actors/errors.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/units.hpp"

namespace troupe::backends {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// One fault of the schedule: the step that starts it and, when it ends during the run, the
/// step that ends it (null otherwise). Delta debugging keeps or drops them together.
struct fault_unit {
  json begin;
  json end;
};
using schedule = std::vector<fault_unit>;

// -- times ----------------------------------------------------------------------

/// A step's "at" in whole milliseconds: what a person writes, close enough to the instant
/// the realised fault happened.
std::string at_text(int64_t ms) {
  return format_duration(std::chrono::milliseconds(std::max<int64_t>(ms, 0)));
}

int64_t ms_of_seconds(double s) { return static_cast<int64_t>(std::llround(s * 1000)); }

int64_t at_ms(const json& step) {
  auto d = parse_duration(step.value("at", "0s"));
  return d ? d->count() / 1'000'000 : 0;
}

// -- the realised schedule ----------------------------------------------------------

json read_json_file(const fs::path& p, const std::string& what) {
  std::ifstream in{p};
  json j = in ? json::parse(in, nullptr, false) : json();
  if (!j.is_object())
    throw user_error("shrink: " + p.string() + " is missing or unreadable; " + what);
  return j;
}

/// A partition's sides: its nodes listed side by side, its detail each side's size.
json partition_sides(const json& fault) {
  std::vector<size_t> sizes;
  const std::string detail = fault.value("detail", "");
  for (size_t pos = 0; pos < detail.size();) {
    size_t used = 0;
    try {
      sizes.push_back(std::stoul(detail.substr(pos), &used));
    } catch (const std::exception&) {
      break;
    }
    pos = detail.find('|', pos + used);
    pos = pos == std::string::npos ? detail.size() : pos + 1;
  }
  const json nodes = fault.value("nodes", json::array());
  size_t total = 0;
  for (size_t n : sizes)
    total += n;
  if (sizes.size() < 2 || total != nodes.size())
    throw user_error("shrink: the partition at " + std::to_string(fault.value("start_s", 0.0)) +
                     " s in report.json does not list its sides (runs before this version of "
                     "troupe did not record them); rerun the scenario and shrink that run");
  json sides = json::array();
  size_t at = 0;
  for (size_t n : sizes) {
    sides.push_back(json(std::vector<json>(nodes.begin() + at, nodes.begin() + at + n)));
    at += n;
  }
  return sides;
}

/// What the chaos workloads did, from report.json's fault windows; faults at the instant of
/// a written step are that step's and are skipped.
schedule chaos_units(const json& report, const std::set<int64_t>& written_ms, int64_t run_ms) {
  schedule out;
  for (const auto& f : report.value("faults", json::array())) {
    const int64_t start = ms_of_seconds(f.value("start_s", 0.0));
    const int64_t end = ms_of_seconds(f.value("end_s", 0.0));
    if (written_ms.count(start))
      continue;
    const std::string action = f.value("action", "");
    fault_unit u;
    if (action == "kill") {
      u.begin = {{"at", at_text(start)}, {"action", "kill"}, {"nodes", f["nodes"]}};
      if (end < run_ms)
        u.end = {{"at", at_text(end)}, {"action", "start"}, {"nodes", f["nodes"]}};
    } else if (action.rfind("partition", 0) == 0) {
      u.begin = {{"at", at_text(start)}, {"action", "partition"}, {"sides", partition_sides(f)}};
      if (action != "partition")
        u.begin["symmetric"] = false;
      if (end < run_ms)
        u.end = {{"at", at_text(end)}, {"action", "heal"}};
    } else {
      throw user_error("shrink: a chaos \"" + action + "\" at " + at_text(start) +
                       " cannot be replayed as a step (report.json does not record its values); "
                       "shrink runs whose chaos does restarts and partitions only");
    }
    out.push_back(std::move(u));
  }
  return out;
}

/// Splits the scenario into what stays (every other workload) and the schedule its steps and
/// chaos workloads realised in `report`.
std::pair<json, schedule> realised_schedule(json scenario, const json& report) {
  schedule written;
  std::set<int64_t> written_ms;
  bool chaos = false;
  json kept = json::array();
  for (const auto& w : scenario.value("workloads", json::array())) {
    const std::string kind = w.value("kind", "");
    if (kind == "chaos" && w.contains("clock_skew"))
      throw user_error("shrink: chaos \"clock_skew\" draws offsets report.json does not record, "
                       "so it cannot be replayed as steps; shrink a run without clock_skew, or "
                       "write the skew as a `steps` skew");
    chaos = chaos || kind == "chaos";
    if (kind == "steps")
      for (const auto& st : w.value("steps", json::array())) {
        written.push_back({st, json()});
        written_ms.insert(at_ms(st));
      }
    else if (kind != "chaos")
      kept.push_back(w);
  }
  scenario["workloads"] = kept;
  auto d = parse_duration(scenario.value("duration", "1m"));
  const int64_t run_ms = d ? d->count() / 1'000'000 : 60'000;
  if (chaos)
    for (auto& u : chaos_units(report, written_ms, run_ms))
      written.push_back(std::move(u));
  std::stable_sort(written.begin(), written.end(), [](const fault_unit& a, const fault_unit& b) {
    return at_ms(a.begin) < at_ms(b.begin);
  });
  return {scenario, written};
}

size_t steps_of(const schedule& s) {
  size_t n = 0;
  for (const auto& u : s)
    n += u.end.is_null() ? 1 : 2;
  return n;
}

} // namespace

namespace {

/// Every run of hex digits holding a digit ("30", "acafbf62", the 0 of "left-0") as '#'.
std::string mask_numbers(const std::string& text) {
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t j = i;
    bool digit = false;
    for (; j < text.size() && hex(text[j]); ++j)
      digit = digit || std::isdigit(static_cast<unsigned char>(text[j])) != 0;
    if (j == i)
      out += text[i++];
    else
      out += digit ? std::string("#") : text.substr(i, j - i);
    i = std::max(i, j);
  }
  return out;
}

/// A list "head: a vs b vs a" as "head: a vs b": its items as a sorted set.
std::string list_as_set(const std::string& text) {
  const std::string sep = " vs ";
  if (text.find(sep) == std::string::npos)
    return text;
  const size_t colon = text.rfind(": ", text.find(sep));
  const size_t head = colon == std::string::npos ? 0 : colon + 2;
  std::set<std::string> items;
  for (size_t at = head;;) {
    const size_t next = text.find(sep, at);
    items.insert(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos)
      break;
    at = next + sep.size();
  }
  std::string out = text.substr(0, head);
  for (const auto& item : items)
    out += (out.size() > head ? sep : "") + item;
  return out;
}

} // namespace

// Convergence's tips are such a list: two tips or four are one failure, one tip is another.
std::string summary_shape(const std::string& summary) { return list_as_set(mask_numbers(summary)); }

namespace {

/// Runs candidates: the base scenario with a schedule (and a duration), judged by whether
/// the target expectation fails. Counts runs; past runs_max every candidate "passes", so each
/// phase stops and the best schedule so far stands.
class searcher {
public:
  searcher(json base, std::string target, std::string shape, const shrink_options& o,
           const registry& reg)
    : base_(std::move(base))
    , target_(std::move(target))
    , shape_(std::move(shape))
    , o_(o)
    , reg_(reg) {}

  json scenario_of(const schedule& s) const {
    json steps = json::array();
    for (const auto& u : s) {
      steps.push_back(u.begin);
      if (!u.end.is_null())
        steps.push_back(u.end);
    }
    std::stable_sort(steps.begin(), steps.end(),
                     [](const json& a, const json& b) { return at_ms(a) < at_ms(b); });
    json j = base_;
    if (!steps.empty())
      j["workloads"].push_back(json{{"kind", "steps"}, {"name", "schedule"}, {"steps", steps}});
    return j;
  }

  bool fails(const schedule& s) { return fails_scenario(scenario_of(s)); }

  bool fails_scenario(const json& j) {
    if (runs_ >= o_.runs_max) {
      exhausted_ = true;
      return false;
    }
    ++runs_;
    scenario s;
    try {
      s = scenario_from_json(j, reg_);
    } catch (const validation_failed&) {
      return false; // e.g. a run cut shorter than a step: not a candidate
    }
    run_request req;
    req.scenario_path = "shrunk.json";
    req.out = o_.work_dir / "candidate";
    req.quiet = true;
    req.progress = false;
    req.log_level = "off";
    auto r = run_scenario(s, req, reg_);
    for (const auto& e : r.report.value("expectations", json::array()))
      if (e.value("name", "") == target_ && !e.value("pass", true) &&
          (!o_.same_summary || summary_shape(e.value("summary", "")) == shape_)) {
        summary_ = e.value("summary", "");
        return true;
      }
    return false;
  }

  json& base() { return base_; }
  size_t runs() const { return runs_; }
  bool exhausted() const { return exhausted_; }
  const std::string& summary() const { return summary_; }

private:
  json base_;
  std::string target_, shape_;
  const shrink_options& o_;
  const registry& reg_;
  size_t runs_ = 0;
  bool exhausted_ = false;
  std::string summary_;
};

/// The schedule cut into `n` chunks of about equal size, in order.
std::vector<schedule> chunks_of(const schedule& s, size_t n) {
  std::vector<schedule> out;
  for (size_t i = 0; i < n; ++i) {
    const size_t a = s.size() * i / n, b = s.size() * (i + 1) / n;
    if (b > a)
      out.emplace_back(s.begin() + static_cast<long>(a), s.begin() + static_cast<long>(b));
  }
  return out;
}

schedule without(const std::vector<schedule>& chunks, size_t skip) {
  schedule out;
  for (size_t i = 0; i < chunks.size(); ++i)
    if (i != skip)
      out.insert(out.end(), chunks[i].begin(), chunks[i].end());
  return out;
}

/// Zeller's ddmin over the faults: a 1-minimal subset that still fails (no single fault of
/// it can go). Tries each chunk alone, then each complement, then finer chunks.
schedule delta_debug(searcher& x, schedule s) {
  if (x.fails({}))
    return {};
  size_t n = 2;
  while (s.size() >= 2 && !x.exhausted()) {
    const auto chunks = chunks_of(s, n);
    bool reduced = false;
    for (size_t i = 0; i < chunks.size() && !reduced; ++i)
      if (x.fails(chunks[i])) {
        s = chunks[i];
        n = 2;
        reduced = true;
      }
    // With two chunks each complement is the other chunk: already tried.
    for (size_t i = 0; i < chunks.size() && !reduced && chunks.size() > 2; ++i) {
      auto rest = without(chunks, i);
      if (x.fails(rest)) {
        s = std::move(rest);
        n = std::max<size_t>(n - 1, 2);
        reduced = true;
      }
    }
    if (reduced)
      continue;
    if (n >= s.size())
      break;
    n = std::min(s.size(), n * 2);
  }
  return s;
}

/// Each fault's heal brought forward by halves while the run still fails.
void shorten_faults(searcher& x, schedule& s) {
  for (auto& u : s) {
    if (u.end.is_null())
      continue;
    for (int tries = 0; tries < 6 && !x.exhausted(); ++tries) {
      const int64_t begin = at_ms(u.begin), length = at_ms(u.end) - begin;
      if (length < 200)
        break;
      const json was = u.end["at"];
      u.end["at"] = at_text(begin + length / 2);
      if (!x.fails(s)) {
        u.end["at"] = was;
        break;
      }
    }
  }
}

using id_list = std::vector<std::string>;
using list_setter = std::function<void(schedule&, const id_list&)>;

/// Node ids named by selectors ("all", a group, an id; one or a list), in topology order.
id_list expand_selectors(const expanded_topology& t, const json& sel) {
  std::set<std::string> want;
  for (const auto& v : sel.is_array() ? sel : json::array({sel}))
    if (v.is_string())
      want.insert(v.get<std::string>());
  id_list out;
  for (const auto& n : t.nodes)
    if (want.count("all") || want.count(n.group) || want.count(n.id))
      out.push_back(n.id);
  return out;
}

/// Drops chunks of `ids` (halves, then quarters, ...) while the run still fails; writes the
/// list back only if it got shorter, so selectors a person wrote stay when nothing could go.
void fewer(searcher& x, schedule& s, id_list ids, const list_setter& set) {
  bool changed = false;
  for (size_t chunk = ids.size() / 2; chunk >= 1 && ids.size() > 1 && !x.exhausted();) {
    bool any = false;
    for (size_t start = 0; start < ids.size() && ids.size() > 1 && !x.exhausted();) {
      id_list cand;
      for (size_t i = 0; i < ids.size(); ++i)
        if (i < start || i >= start + chunk)
          cand.push_back(ids[i]);
      schedule t = s;
      set(t, cand);
      if (!cand.empty() && x.fails(t)) {
        ids = std::move(cand);
        any = changed = true;
      } else {
        start += chunk;
      }
    }
    if (!any)
      chunk /= 2;
  }
  if (changed)
    set(s, ids);
}

/// Fewer nodes in each fault's node list and in each side of each partition.
void fewer_nodes(searcher& x, schedule& s, const expanded_topology& t) {
  for (size_t i = 0; i < s.size(); ++i) {
    const json& b = s[i].begin;
    if (b.contains("nodes"))
      fewer(x, s, expand_selectors(t, b["nodes"]), [i](schedule& c, const id_list& ids) {
        c[i].begin["nodes"] = ids;
        if (c[i].end.is_object() && c[i].end.contains("nodes"))
          c[i].end["nodes"] = ids;
      });
    if (b.contains("sides"))
      for (size_t k = 0; k < b["sides"].size(); ++k)
        fewer(x, s, expand_selectors(t, b["sides"][k]),
              [i, k](schedule& c, const id_list& ids) { c[i].begin["sides"][k] = ids; });
  }
}

/// The run cut by bisection (whole seconds) down to a second after the last step.
void shorter_run(searcher& x, const schedule& s) {
  int64_t lo = 1000;
  for (const auto& u : s)
    lo = std::max(lo, (u.end.is_null() ? at_ms(u.begin) : at_ms(u.end)) + 1000);
  auto d = parse_duration(x.base().value("duration", "1m"));
  int64_t hi = d ? d->count() / 1'000'000 : lo;
  while (hi - lo > 1000 && !x.exhausted()) {
    const int64_t mid = std::max(lo + 1000, (lo + hi) / 2 / 1000 * 1000);
    json cand = x.scenario_of(s);
    cand["duration"] = at_text(mid);
    if (x.fails_scenario(cand)) {
      hi = mid;
      x.base()["duration"] = at_text(mid);
    } else {
      lo = mid;
    }
  }
}

std::string first_failing(const json& report) {
  for (const auto& e : report.value("expectations", json::array()))
    if (!e.value("pass", true))
      return e.value("name", "");
  return "";
}

std::string first_failing_summary(const json& report) {
  for (const auto& e : report.value("expectations", json::array()))
    if (!e.value("pass", true))
      return e.value("summary", "");
  return "";
}

void check_shrinkable(const json& report, const fs::path& dir) {
  const std::string verdict = report.value("verdict", "");
  if (verdict != "fail")
    throw user_error("shrink: the run in " + dir.string() + " did not fail (verdict " + verdict +
                     "); give the directory of a run whose expectation failed");
  const std::string backend = report.value("backend", "");
  if (backend != "sim")
    throw user_error("shrink: the run in " + dir.string() + " ran on backend " + backend +
                     "; candidates are simulated runs, so shrink a run of the sim backend "
                     "(troupe run FILE --backend sim)");
}

void progress(const shrink_options& o, const std::string& phase, const schedule& s,
              const searcher& x) {
  if (o.on_progress)
    o.on_progress(phase + ": " + std::to_string(s.size()) + " faults (" +
                  std::to_string(steps_of(s)) + " steps), " + std::to_string(x.runs()) + " runs");
}

} // namespace

shrink_result shrink_run(const shrink_options& o, const registry& reg) {
  const json report = read_json_file(o.run_dir / "report.json", "give a run directory");
  check_shrinkable(report, o.run_dir);
  const json ran = read_json_file(o.run_dir / "scenario.json",
                                  "runs made before troupe wrote it cannot be shrunk: rerun "
                                  "the scenario with the reproduce command and shrink that run");
  shrink_result r;
  r.expectation = first_failing(report);
  auto [base, s] = realised_schedule(ran, report);
  r.faults_before = s.size();
  r.steps_before = steps_of(s);
  std::error_code ec;
  fs::create_directories(o.work_dir, ec);
  searcher x{base, r.expectation, summary_shape(first_failing_summary(report)), o, reg};
  progress(o, "realised schedule", s, x);
  if (!x.fails(s))
    throw user_error("shrink: the realised schedule as explicit steps no longer fails " +
                       r.expectation +
                       " (the steps land on whole milliseconds, the chaos on "
                       "nanoseconds, and this failure hangs on that difference): nothing to shrink",
                     exit_fail);
  s = delta_debug(x, s);
  progress(o, "fewer faults (ddmin)", s, x);
  shorten_faults(x, s);
  progress(o, "shorter faults", s, x);
  fewer_nodes(x, s, expand(scenario_from_json(base, reg)));
  progress(o, "fewer nodes", s, x);
  shorter_run(x, s);
  progress(o, "shorter run (" + x.base().value("duration", "") + ")", s, x);
  r.faults_after = s.size();
  r.steps_after = steps_of(s);
  r.runs = x.runs();
  r.runs_exhausted = x.exhausted();
  r.summary = x.summary();
  r.shrunk = x.scenario_of(s);
  const std::string name = ran.value("name", "scenario");
  r.shrunk["name"] = name.substr(0, 57) + "-shrunk";
  r.shrunk["description"] = "Shrunk by troupe shrink from " + o.run_dir.string() + " (" + name +
                            ", seed " + std::to_string(ran.value("seed", uint64_t{0})) +
                            "): " + describe(r) + "; still fails " + r.expectation + ": " +
                            r.summary;
  return r;
}

std::string describe(const shrink_result& r) {
  return std::to_string(r.faults_before) + " faults (" + std::to_string(r.steps_before) +
         " steps) -> " + std::to_string(r.faults_after) + " faults (" +
         std::to_string(r.steps_after) + " steps)";
}

} // namespace troupe::backends
