#include "actors/runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include <caf/all.hpp>
#include <fmt/ranges.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/live_snapshot.hpp"
#include "actors/node_protocol.hpp"
#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "actors/run_observer.hpp"
#include "actors/run_outcome.hpp"
#include "actors/scenario/leadership.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/sync_actor.hpp"
#include "actors/units.hpp"

namespace troupe {

volatile int run_interrupted = 0;

namespace {

using nlohmann::json;
using caf_clock = caf::actor_clock;

/// What the runner actor records; read by the calling thread once the run is over.
struct run_record {
  std::mutex mtx;
  std::atomic<bool> done{false};
  std::vector<double> sample_times_s;
  std::vector<std::vector<int64_t>> heights; ///< per node, one entry per sample (-1: down)
  std::vector<run_event> events;             ///< faults, heals (transactions are counted)
  std::vector<verdict> verdicts;
  std::vector<node_status> final_status;
  uint64_t txs_submitted = 0;
  uint64_t txs_rejected = 0;
  double run_seconds = 0;
  /// Cumulative counters at each sample (backend counters and transactions).
  std::map<std::string, std::vector<uint64_t>> counter_series;
  /// Per transaction: submitted and first finalized on any node (run ns; -1: not yet).
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> txs;
  uint64_t txs_final = 0; ///< final on at least one node
};

/// Transactions tracked for latency; beyond this the counts stay exact but later ones are
/// not timed (memory stays bounded on a very long run).
constexpr size_t txs_tracked_max = 2'000'000;

struct runner_state {
  std::shared_ptr<run_context> ctx;
  std::shared_ptr<run_record> rec;
  std::vector<caf::actor> workloads;
  std::vector<caf::actor> expectations;
  std::vector<std::string> expectation_names;
  duration sample_every{};
  bool stopping = false;
  const backend* b = nullptr;           ///< for counters_now()
  std::shared_ptr<live_status> live;    ///< the views' snapshot (never read back)
  std::vector<run_event> active_faults; ///< for the live views
  std::map<std::string, uint64_t> faults_by_action;
  uint64_t refusals = 0;
  static inline const char* name = "runner";
};

using runner_actor = caf::stateful_actor<runner_state>;

/// Whether `heal` ends `fault`: a global heal ends everything, a heal of nodes ends the
/// faults of those nodes (a subset: a stop of a and b refused on b is ended by starting both).
bool heals(const run_event& heal, const run_event& fault) {
  // Link properties and clock skew are conditions: a heal leaves them as they are.
  if (fault.action == "set_link" || fault.action == "clock_skew")
    return false;
  if (heal.nodes.empty())
    return true;
  if (fault.nodes.empty())
    return false;
  for (const auto& n : fault.nodes)
    if (std::find(heal.nodes.begin(), heal.nodes.end(), n) == heal.nodes.end())
      return false;
  return true;
}

double seconds_since(runner_actor* self) {
  auto d = self->clock().now() - self->state.ctx->origin;
  return std::chrono::duration<double>(d).count();
}

template <class F> void collect_status(runner_actor* self, F done) {
  troupe::collect_status(self, *self->state.ctx, std::move(done));
}

void finish(runner_actor* self) {
  auto& st = self->state;
  collect_status(self, [self](const std::vector<node_status>& statuses) {
    auto& rec = *self->state.rec;
    std::lock_guard<std::mutex> guard{rec.mtx};
    rec.final_status = statuses;
    rec.run_seconds = seconds_since(self);
    rec.done = true;
    self->quit();
  });
  (void) st;
}

void evaluate(runner_actor* self) {
  auto& st = self->state;
  const size_t n = st.expectations.size();
  if (n == 0) {
    finish(self);
    return;
  }
  auto verdicts = std::make_shared<std::vector<verdict>>(n);
  auto pending = std::make_shared<size_t>(n);
  for (size_t i = 0; i < n; ++i) {
    auto on_done = [=] {
      if (--*pending == 0) {
        std::lock_guard<std::mutex> guard{self->state.rec->mtx};
        self->state.rec->verdicts = *verdicts;
        finish(self);
      }
    };
    self->request(st.expectations[i], std::chrono::seconds(60), evaluate_atom::value)
      .then(
        [=](const verdict& v) {
          (*verdicts)[i] = v;
          on_done();
        },
        [=](caf::error& err) {
          // One expectation that cannot answer does not hide the others' verdicts.
          auto& v = (*verdicts)[i];
          v.name = self->state.expectation_names[i];
          v.kind = v.name;
          v.pass = false;
          v.summary = "no verdict: " + to_string(err);
          v.evidence = json{{"error", to_string(err)}}.dump();
          on_done();
        });
  }
}

/// Copies what the views show into the live snapshot (called with rec.mtx held).
void publish_live(runner_actor* self, double t, const std::vector<node_status>& statuses,
                  const json& counters) {
  auto& st = self->state;
  auto& rec = *st.rec;
  const int64_t now_ns = static_cast<int64_t>(t * 1e9);
  auto& a = st.active_faults;
  a.erase(
    std::remove_if(a.begin(), a.end(),
                   [&](const run_event& f) { return f.until_ns >= 0 && f.until_ns <= now_ns; }),
    a.end());
  std::vector<int64_t> hs;
  for (const auto& s : statuses)
    if (s.up)
      hs.push_back(static_cast<int64_t>(s.height));
  std::sort(hs.begin(), hs.end());
  spdlog::debug("[t={:.1f}s] {}/{} nodes up, height {}..{}, {} txs submitted, {} final", t,
                hs.size(), statuses.size(), hs.empty() ? 0 : hs.front(), hs.empty() ? 0 : hs.back(),
                rec.txs_submitted, rec.txs_final);
  if (!st.live)
    return;
  st.live->update([&](live_snapshot& s) {
    s.phase = st.stopping ? "evaluating" : "running";
    s.run_s = t;
    s.nodes_total = statuses.size();
    s.nodes_up = hs.size();
    s.height_min = hs.empty() ? 0 : hs.front();
    s.height_max = hs.empty() ? 0 : hs.back();
    s.txs_submitted = rec.txs_submitted;
    s.txs_included = rec.txs_final;
    s.messages = counters.value("messages", uint64_t{0});
    s.drops = counters.value("drops", uint64_t{0});
    s.faults_by_action = st.faults_by_action;
    s.refusals_total = st.refusals;
    s.faults_total = 0;
    for (const auto& [k, n] : st.faults_by_action)
      s.faults_total += n;
    s.active_faults.clear();
    for (const auto& f : a)
      s.active_faults.push_back(f.action + " " + fmt::format("{}", fmt::join(f.nodes, ",")));
    // The history is bounded: past history_max samples, every other one is dropped.
    if (s.t_s.size() >= live_snapshot::history_max) {
      auto halve = [](auto& v) {
        size_t j = 0;
        for (size_t i = 0; i < v.size(); i += 2)
          v[j++] = v[i];
        v.resize(j);
      };
      halve(s.t_s), halve(s.h_min), halve(s.h_median), halve(s.h_max);
      halve(s.messages_at), halve(s.drops_at), halve(s.included_at);
    }
    s.t_s.push_back(t);
    s.h_min.push_back(s.height_min);
    s.h_median.push_back(hs.empty() ? 0 : hs[hs.size() / 2]);
    s.h_max.push_back(s.height_max);
    s.messages_at.push_back(s.messages);
    s.drops_at.push_back(s.drops);
    s.included_at.push_back(s.txs_included);
  });
}

caf::behavior runner_behavior(runner_actor* self, std::shared_ptr<run_context> ctx,
                              std::shared_ptr<run_record> rec, std::vector<caf::actor> workloads,
                              std::vector<caf::actor> expectations,
                              std::vector<std::string> expectation_names, duration sample_every,
                              const backend* b, std::shared_ptr<live_status> live) {
  auto& st = self->state;
  st.b = b;
  st.live = std::move(live);
  st.ctx = std::move(ctx);
  st.rec = std::move(rec);
  st.workloads = std::move(workloads);
  st.expectations = std::move(expectations);
  st.expectation_names = std::move(expectation_names);
  st.sample_every = sample_every;
  return {
    [=](start_atom) {
      auto& st = self->state;
      // Expectations first: they must be observing before the first transaction or fault.
      for (auto& e : st.expectations)
        self->send(e, start_atom::value);
      for (auto& w : st.workloads)
        self->send(w, start_atom::value);
      // Block streams feed the transactions-included count; the nodes do not see who
      // listens, so the simulated world (and its digest) is the same with or without.
      subscribe_all(self, st.ctx->nodes);
      self->send(self, tick_atom::value);
      self->delayed_send(self, st.ctx->run_duration, stop_atom::value);
    },
    [=](tick_atom) {
      if (self->state.stopping)
        return;
      const double t = seconds_since(self);
      collect_status(self, [self, t](const std::vector<node_status>& statuses) {
        auto& st = self->state;
        auto& rec = *st.rec;
        const auto counters = st.b ? st.b->counters_now() : json::object();
        std::lock_guard<std::mutex> guard{rec.mtx};
        rec.sample_times_s.push_back(t);
        rec.heights.resize(statuses.size());
        for (size_t i = 0; i < statuses.size(); ++i)
          rec.heights[i].push_back(statuses[i].up ? static_cast<int64_t>(statuses[i].height) : -1);
        for (auto it = counters.begin(); it != counters.end(); ++it)
          if (it.value().is_number_unsigned())
            rec.counter_series[it.key()].push_back(it.value().get<uint64_t>());
        rec.counter_series["txs_submitted"].push_back(rec.txs_submitted);
        rec.counter_series["txs_included"].push_back(rec.txs_final);
        publish_live(self, t, statuses, counters);
      });
      self->delayed_send(self, self->state.sample_every, tick_atom::value);
    },
    [=](event_atom, const run_event& ev) {
      auto& st = self->state;
      for (auto& e : st.expectations)
        self->send(e, event_atom::value, ev);
      if (ev.kind == "fault") {
        st.active_faults.push_back(ev);
        ++st.faults_by_action[ev.action];
        spdlog::info("[t={:.1f}s] fault {} on {} {}", ev.time_ns / 1e9, ev.action,
                     fmt::join(ev.nodes, ","), ev.detail);
      } else if (ev.kind == "heal") {
        auto& a = st.active_faults;
        a.erase(
          std::remove_if(a.begin(), a.end(), [&](const run_event& f) { return heals(ev, f); }),
          a.end());
        spdlog::info("[t={:.1f}s] heal {} {}", ev.time_ns / 1e9, fmt::join(ev.nodes, ","),
                     ev.detail);
      } else if (ev.kind == "refusal") {
        // Never a fault: the backend did not apply it. Warn, so the console shows it.
        ++st.refusals;
        spdlog::warn("[t={:.1f}s] refused {} on {}: {}", ev.time_ns / 1e9, ev.action,
                     ev.nodes.empty() ? std::string("every node")
                                      : fmt::format("{}", fmt::join(ev.nodes, ",")),
                     ev.detail);
      }
      std::lock_guard<std::mutex> guard{st.rec->mtx};
      if (ev.kind == "tx") {
        const bool ok = ev.action == "submitted";
        ++(ok ? st.rec->txs_submitted : st.rec->txs_rejected);
        if (ok && (st.rec->txs.size() < txs_tracked_max || st.rec->txs.count(ev.detail)))
          st.rec->txs.try_emplace(ev.detail, -1, -1).first->second.first = ev.time_ns;
      } else if (st.rec->events.size() < 100000) { // bounded: a chaos run cannot exhaust memory
        st.rec->events.push_back(ev);
        if (ev.kind == "jobs" && st.live)
          st.live->update([&](live_snapshot& s) { ++s.campaign_reports[ev.action]; });
      }
    },
    [=](const block_event& ev) {
      // Transactions final on at least one node, for the live views and the latency chart.
      if (ev.kind != block_event::finalized || ev.txs.empty())
        return;
      auto& rec = *self->state.rec;
      const int64_t now_ns = self->state.ctx->since_start(self->clock().now()).count();
      std::lock_guard<std::mutex> guard{rec.mtx};
      for (const auto& id : ev.txs) {
        auto it = rec.txs.find(id);
        if (it == rec.txs.end()) {
          if (rec.txs.size() >= txs_tracked_max)
            continue;
          it = rec.txs.try_emplace(id, -1, -1).first;
        }
        if (it->second.second < 0) {
          it->second.second = now_ns;
          ++rec.txs_final;
        }
      }
    },
    [=](stop_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = true;
      spdlog::info("[t={:.1f}s] stopping workloads; evaluating {} expectation(s)",
                   seconds_since(self), st.expectations.size());
      if (st.live)
        st.live->update([](live_snapshot& s) { s.phase = "evaluating"; });
      for (auto& w : st.workloads)
        self->send(w, stop_atom::value);
      // Let the workloads' last messages land before judging.
      self->delayed_send(self, std::chrono::milliseconds(1), evaluate_atom::value);
    },
    [=](evaluate_atom) { evaluate(self); },
  };
}

/// What a run writes at the top of its directory. A directory that holds nothing else is a
/// previous run's, which a new run empties first: its old nodes/*.log would otherwise end up
/// in the new run's report. Anything else in it may be the user's, so it is never deleted.
bool written_by_a_run(const std::string& name) {
  static const std::set<std::string> files{
    "troupe.log", "report.json", "report.json.tmp", "report.html", "report.html.tmp",
    "report.junit.xml", "report.junit.xml.tmp", "events.jsonl", "nodes", "scenario.json",
    // the ssh backend's state, and its provisioned hosts (backends/ssh/provisioner.hpp)
    "ssh", "provisioned.json", "provisioned.json.tmp", "provisioned-hosts.json",
    "provisioned_known_hosts", "provisioner", "compose"}; // the compose backend's file and token

  if (files.count(name))
    return true;
  // A campaign's store: jobs-<name>.db and SQLite's companions.
  if (name.rfind("jobs-", 0) != 0)
    return false;
  for (const char* end : {".db", ".db-wal", ".db-shm", ".db-journal"}) {
    const std::string e = end;
    if (name.size() > e.size() + 5 && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return true;
  }
  return false;
}

/// Whether the provisioner record `p` says its hosts were destroyed (an unreadable record
/// does not).
bool provisioned_hosts_destroyed(const std::filesystem::path& p) {
  try {
    std::ifstream in{p};
    return nlohmann::json::parse(in).value("destroyed", false);
  } catch (const std::exception&) {
    return false;
  }
}

/// `--out DIR`: created when missing; a previous run's directory is emptied; any other
/// non-empty directory is refused before anything starts.
void reuse_out_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return;
  if (!fs::is_directory(dir, ec))
    throw user_error("--out " + dir.string() +
                     " is not a directory; choose a new directory for the run");
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (!written_by_a_run(name))
      throw user_error("--out " + dir.string() + " is not empty and holds \"" + name +
                       "\", which a troupe run does not write; choose a new or empty "
                       "directory (a previous run's directory is emptied and reused)");
    // Emptying it would lose the only record of hosts that still run.
    if (name == "provisioned.json" && !provisioned_hosts_destroyed(e.path()))
      throw user_error("--out " + dir.string() +
                       " records provisioned hosts that were not "
                       "destroyed (its run was killed): run `troupe fleet gc " +
                       dir.string() + "` first, or choose another --out");
    entries.push_back(e.path());
  }
  if (ec)
    throw user_error("cannot read --out " + dir.string() + ": " + ec.message() +
                     "; choose another --out");
  for (const auto& p : entries) {
    fs::remove_all(p, ec);
    if (ec)
      throw user_error("cannot clear " + p.string() + " from the previous run in --out " +
                       dir.string() + ": " + ec.message() + "; remove it or choose another --out");
  }
}

/// runs/<scenario>-<timestamp>, made with one mkdir each try so that two runs started in the
/// same second (in one process or two) never share a directory: the second gets -2, then -3.
std::filesystem::path new_default_run_dir(const std::string& stem) {
  namespace fs = std::filesystem;
  const fs::path runs = "runs";
  std::error_code ec;
  fs::create_directories(runs, ec);
  if (ec)
    throw user_error("cannot create " + runs.string() + "/: " + ec.message() +
                     "; run from a writable directory or pass --out");
  constexpr int tries_max = 1000;
  for (int i = 1; i <= tries_max; ++i) {
    auto dir = runs / (i == 1 ? stem : stem + "-" + std::to_string(i));
    if (fs::create_directory(dir, ec))
      return dir;
    if (ec)
      throw user_error("cannot create run directory " + dir.string() + ": " + ec.message() +
                       "; choose another --out");
  }
  throw user_error("runs/ already holds " + std::to_string(tries_max) + " directories named " +
                   stem + "*; pass --out or clear runs/");
}

std::string timestamp_utc() {
  // Run directory names only; nothing the simulator computes depends on it.
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string reproduce_command(const scenario& s, const run_request& req) {
  std::ostringstream out;
  out << "troupe run " << (req.scenario_path.empty() ? s.name + ".json" : req.scenario_path)
      << " --seed " << s.seed;
  if (req.backend)
    out << " --backend " << *req.backend;
  if (req.run_duration)
    out << " --duration " << format_duration(*req.run_duration);
  out << req.reproduce_flags;
  return out.str();
}

/// Troupe's own log for one run: the console at the requested level, troupe.log in the run
/// directory at info or finer. Restores the previous default logger when the run ends.
class run_logger {
public:
  run_logger(const std::filesystem::path& run_dir, const std::string& level_name) {
    auto level = spdlog::level::from_str(level_name);
    if (level == spdlog::level::off && level_name != "off")
      throw user_error("--log-level: unknown level \"" + level_name +
                       "\"; use trace, debug, info, warn, error, critical or off");
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_level(level);
    auto file =
      std::make_shared<spdlog::sinks::basic_file_sink_mt>((run_dir / "troupe.log").string(), true);
    const auto file_level = std::min(level, spdlog::level::info);
    file->set_level(file_level);
    auto logger =
      std::make_shared<spdlog::logger>("troupe", spdlog::sinks_init_list{console, file});
    logger->set_level(std::min(level, file_level));
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    // troupe.log follows the run line by line: `tail -f` shows a live run as it goes (and
    // tests wait on its lines). Only info and up reach the file, a few lines a second.
    logger->flush_on(spdlog::level::info);
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(logger);
  }
  ~run_logger() {
    spdlog::default_logger()->flush();
    spdlog::set_default_logger(previous_);
  }

private:
  std::shared_ptr<spdlog::logger> previous_;
};

/// Slows a virtual-time run to at most `pace` run seconds per wall second (--pace): sleeps
/// between the backend's steps, so nothing the simulation computes depends on it.
class pacer {
public:
  explicit pacer(double pace)
    : pace_(pace)
    , start_(std::chrono::steady_clock::now()) {}
  void wait(double run_s) const {
    if (pace_ <= 0)
      return;
    const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(run_s / pace_));
    // Bounded so that Ctrl-C (checked by the backend between steps) stays responsive.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
    std::this_thread::sleep_until(std::min(due, limit));
  }

private:
  double pace_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace

run_result run_scenario(const scenario& s0, const run_request& req, const registry& reg) {
  scenario s = s0;
  if (req.seed)
    s.seed = *req.seed;
  if (req.run_duration)
    s.run_duration = *req.run_duration;
  if (req.backend)
    s.backend.name = *req.backend;
  const backend_kind* bk = reg.backend(s.backend.name);
  if (!bk)
    throw user_error("backend \"" + s.backend.name +
                     "\" is not available; known backends: " + reg.backend_names());
  auto topo = expand(s);

  run_result result;
  // A run starts in a clean directory: nothing of an earlier run reaches its report.
  if (req.out.empty()) {
    result.run_dir = new_default_run_dir(s.name + "-" + timestamp_utc());
  } else {
    reuse_out_dir(req.out);
    result.run_dir = req.out;
  }
  std::error_code ec;
  std::filesystem::create_directories(result.run_dir / "nodes", ec);
  if (ec)
    throw user_error("cannot create run directory " + result.run_dir.string() + ": " +
                     ec.message() + "; choose another --out");

  // The scenario as run (seed, duration, backend and any varied parameters in place): the
  // run directory stands on its own, and `troupe shrink DIR` starts from it.
  {
    std::ofstream out{result.run_dir / "scenario.json"};
    out << to_json(s).dump(2) << "\n";
  }
  run_logger logger{result.run_dir, req.log_level};
  spdlog::info("run {}: scenario {}, seed {}, backend {}, {} nodes, {} planned",
               result.run_dir.string(), s.name, s.seed, s.backend.name, topo.nodes.size(),
               format_duration(s.run_duration));
  for (const auto& g : describe_leadership(s, s.backend.name, reg))
    spdlog::info("{}", to_string(g));

  // -- live views: progress line, metrics, dashboard (outside the simulated world) -----------
  auto live = std::make_shared<live_status>();
  live->update([&](live_snapshot& l) {
    l.scenario = s.name;
    l.backend = s.backend.name;
    l.duration_s = std::chrono::duration<double>(s.run_duration).count();
    l.nodes_total = topo.nodes.size();
    l.phase = "deploying";
  });
  // Views first: a busy --serve port is bad input before anything is deployed.
  std::unique_ptr<run_views> views = reg.views() ? reg.views()(live, req) : nullptr;

  run_env env;
  env.run_dir = result.run_dir;
  env.scenario_path = req.scenario_path;
  env.seed = s.seed;
  env.run_duration = s.run_duration;
  env.quiet = req.quiet;
  env.write_events = req.write_events;
  env.events_bytes_max = req.events_bytes_max;
  env.interrupted = &run_interrupted;

  backend_ptr b = req.make_backend ? req.make_backend() : bk->make();
  live->update([&](live_snapshot& l) { l.virtual_time = b->virtual_time(); });
  if (req.pace > 0 && !b->virtual_time())
    spdlog::warn("--pace applies to virtual-time backends only; backend {} runs in real time",
                 b->name());
  // A live scenario run on the simulator with --backend: its models have no /metrics.
  if (b->virtual_time())
    for (const auto& g : s.topology.groups)
      if (g.scrape)
        spdlog::warn("group {}: \"scrape\" is ignored: the {} backend's simulated nodes expose "
                     "no /metrics",
                     g.name, b->name());
  caf::actor_system_config cfg;
  b->configure(cfg);
  auto rec = std::make_shared<run_record>();
  auto wall_start = std::chrono::steady_clock::now();
  json report_extra = json::object();
  std::string error_text;
  bool deployed = false;
  {
    caf::actor_system sys{cfg};
    std::unique_ptr<sync_endpoint> sync_face; // live: stopped before the actor system goes
    caf::actor sync;
    try {
      auto dep = b->deploy(sys, s, topo, env);
      deployed = true;
      spdlog::info("deployed {} nodes", dep.nodes.size());
      live->update([](live_snapshot& l) { l.phase = "running"; });
      auto ctx = std::make_shared<run_context>();
      ctx->scenario = &s;
      ctx->topology = &topo;
      ctx->nodes = dep.nodes;
      ctx->fabric = dep.fabric;
      ctx->trace = dep.trace;
      ctx->seed = s.seed;
      ctx->run_duration = s.run_duration;
      ctx->run_dir = result.run_dir;
      ctx->virtual_time = b->virtual_time();
      ctx->origin = sys.clock().now();
      ctx->prometheus_url = req.prometheus_url;
      ctx->live = live;
      // After deploying, so that in sim the sync service folds into the world's trace (and a
      // run that never synchronises keeps the digest it had before the service existed).
      sync = spawn_sync(sys, dep.trace);
      ctx->sync = sync;
      if (!b->virtual_time() && reg.sync_endpoint()) {
        sync_face = reg.sync_endpoint()(sys, sync);
        ctx->sync_url = sync_face->url();
        spdlog::info("sync service on {} ({})", ctx->sync_url, sync_url_env);
      }
      std::vector<caf::actor> workloads, expectations;
      std::vector<std::string> expectation_names;
      // The runner's handle must be in the context before workloads are spawned: spawn it
      // first, lazily started by the start message below.
      duration sample_every = req.sample_every;
      if (s.run_duration / sample_every > 600)
        sample_every = s.run_duration / 600;
      const backend* bp = b.get();
      auto runner = sys.spawn<caf::lazy_init>(
        [=, &workloads, &expectations, &expectation_names](runner_actor* self) {
          return runner_behavior(self, ctx, rec, workloads, expectations, expectation_names,
                                 sample_every, bp, live);
        });
      ctx->runner = runner;
      for (const auto& w : s.workloads)
        workloads.push_back(reg.workload(w.kind)->spawn(sys, ctx, w));
      for (const auto& e : s.expectations) {
        expectations.push_back(reg.expectation(e.kind)->spawn(sys, ctx, e));
        expectation_names.push_back(e.name);
      }
      caf::anon_send(runner, start_atom::value);
      const pacer pace{b->virtual_time() ? req.pace : 0};
      b->drive(sys, [&] {
        pace.wait(std::chrono::duration<double>(sys.clock().now() - ctx->origin).count());
        return rec->done.load();
      });
      if (!rec->done) {
        error_text = b->ended_early_because();
        if (error_text.empty())
          error_text = "interrupted: the run was stopped by a signal before it ended";
        caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
      }
      for (auto& a : workloads)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      for (auto& a : expectations)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    } catch (const user_error& e) {
      error_text = e.what();
    } catch (const std::exception& e) {
      error_text = std::string("internal error: ") + e.what();
    }
    if (!error_text.empty())
      spdlog::error("{}", error_text);
    sync_face.reset();
    if (sync)
      caf::anon_send_exit(sync, caf::exit_reason::user_shutdown);
    live->update([](live_snapshot& l) { l.phase = "tearing down"; });
    b->teardown();
    report_extra = b->results();
  }
  const double wall_seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // -- report -----------------------------------------------------------------
  run_outcome in;
  in.s = &s;
  in.topo = &topo;
  in.backend = s.backend.name;
  in.virtual_time = b->virtual_time();
  in.backend_results = report_extra;
  for (auto it = req.report_extra.begin(); it != req.report_extra.end(); ++it)
    in.backend_results[it.key()] = it.value();
  in.wall_seconds = wall_seconds;
  in.reproduce = reproduce_command(s, req);
  in.error = error_text;
  in.deployed = deployed;
  {
    std::lock_guard<std::mutex> guard{rec->mtx};
    in.sample_times_s = rec->sample_times_s;
    in.heights = rec->heights;
    in.events = rec->events;
    in.verdicts = rec->verdicts;
    in.final_status = rec->final_status;
    in.txs_submitted = rec->txs_submitted;
    in.txs_rejected = rec->txs_rejected;
    in.run_seconds = rec->run_seconds;
    in.counter_series = rec->counter_series;
    in.txs_final = rec->txs_final;
    for (const auto& [id, t] : rec->txs)
      if (t.first >= 0 && t.second >= 0)
        in.tx_latencies_s.push_back(static_cast<double>(t.second - t.first) / 1e9);
  }
  if (!reg.reporter())
    throw std::logic_error("no run reporter registered: call troupe::register_catalog() first");
  result.report = reg.reporter()(in, result.run_dir);
  const std::string verdict = result.report["verdict"];
  for (const auto& e : result.report["expectations"])
    if (e["pass"].get<bool>())
      spdlog::info("PASS {}: {}", e["name"].get<std::string>(), e["summary"].get<std::string>());
    else
      spdlog::info("FAIL {}: {}", e["name"].get<std::string>(), e["summary"].get<std::string>());
  spdlog::info("verdict {}; report {}", verdict, (result.run_dir / "report.html").string());
  live->update([&](live_snapshot& l) {
    l.phase = "done";
    l.verdict = verdict;
  });
  if (views)
    views->finish();
  if (req.on_reported)
    req.on_reported(in, result.report, result.run_dir);
  result.exit_code = verdict == "pass"          ? exit_pass
                     : verdict == "fail"        ? exit_fail
                     : verdict == "interrupted" ? 130
                                                : exit_bad_input;
  if (!deployed && !error_text.empty())
    throw user_error(error_text + " (report: " + (result.run_dir / "report.json").string() + ")");
  return result;
}

} // namespace troupe
