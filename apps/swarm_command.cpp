// troupe swarm FILE --seeds A..B [...] | troupe swarm merge DIR...: many seeds of one
// scenario (backends/sim/swarm.hpp), summarised in swarm.json and swarm.html.

#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "actors/errors.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/vary.hpp"
#include "apps/commands.hpp"
#include "apps/duration_option.hpp"
#include "backends/sim/swarm.hpp"
#include "backends/sim/swarm_k8s.hpp"
#include "report/swarm_html.hpp"

namespace troupe::apps {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

volatile int swarm_interrupted = 0;

void on_swarm_signal(int) { swarm_interrupted = 1; }

struct swarm_args {
  std::string file, seeds, shard, out, timeout = "10m", emit, image = "troupe:latest";
  std::string results_claim = "troupe-swarm-results";
  unsigned jobs = 0, shards = 0;
  bool vary = false, shrink = false;
  std::vector<std::string> merge_dirs;
  std::string merge_out;
};

fs::path default_swarm_dir(const std::string& name) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  const fs::path base = fs::path("runs") / (name + "-swarm-" + buf);
  fs::path dir = base;
  for (int i = 2; fs::exists(dir) && i < 1000; ++i)
    dir = base.string() + "-" + std::to_string(i);
  return dir;
}

backends::swarm_plan make_plan(const swarm_args& a, const scenario& s) {
  if (a.seeds.empty())
    throw user_error("swarm: --seeds A..B is required (e.g. --seeds 1..1000)");
  backends::swarm_plan p;
  p.scenario = s.name;
  p.file = a.file;
  std::tie(p.seed_first, p.seed_last) = backends::parse_seed_range("--seeds", a.seeds);
  p.vary = a.vary;
  if (!a.shard.empty())
    std::tie(p.shard_index, p.shard_count) = backends::parse_shard("--shard", a.shard);
  if (a.vary) {
    scenario copy = s;
    if (apply_vary(copy, p.seed_first).empty())
      throw user_error("swarm --vary: " + a.file +
                       " declares no ranges; add a \"vary\" object to a chaos workload, e.g. "
                       "\"vary\": {\"partitions.duration_max\": [\"10s\", \"1m\"]}");
  }
  return p;
}

int emit_k8s(const swarm_args& a, backends::swarm_plan p) {
  if (a.emit != "k8s-job")
    throw user_error("swarm --emit: only \"k8s-job\" is implemented, got \"" + a.emit + "\"");
  if (a.shards == 0)
    throw user_error("swarm --emit k8s-job: --shards M is required (the Job's completions)");
  if (!a.shard.empty())
    throw user_error("swarm --emit k8s-job: drop --shard; each pod picks its own from --shards");
  p.shard_count = a.shards;
  std::ifstream in{a.file};
  std::stringstream text;
  text << in.rdbuf();
  backends::k8s_job_options o;
  o.image = a.image;
  o.results_claim = a.results_claim;
  o.jobs = a.jobs == 0 ? 1 : a.jobs;
  std::cout << backends::swarm_k8s_job(p, text.str(), o).dump(2) << "\n";
  return exit_pass;
}

/// One line per seed that did not pass; on a terminal, a progress line kept up to date below.
class seed_printer {
public:
  explicit seed_printer(size_t planned)
    : planned_(planned)
    , tty_(isatty(STDOUT_FILENO) != 0) {}

  void operator()(const json& r) {
    ++done_;
    const std::string v = r.value("verdict", "error");
    if (v != "pass") {
      ++failed_;
      std::string why;
      for (const auto& f : r.value("failed", json::array()))
        why += (why.empty() ? "" : "; ") + f.value("name", "") + ": " + f.value("summary", "");
      if (why.empty())
        why = r.value("reason", "");
      std::printf("%sseed %llu: %s: %s\n", tty_ ? "\r\033[K" : "",
                  static_cast<unsigned long long>(r["seed"].get<uint64_t>()), v.c_str(),
                  why.c_str());
    }
    if (tty_)
      std::printf("\r\033[K%zu/%zu seeds, %zu not passed%s", done_, planned_, failed_,
                  done_ == planned_ ? "\n" : "");
    std::fflush(stdout);
  }

private:
  size_t planned_, done_ = 0, failed_ = 0;
  bool tty_;
};

void print_summary(const json& s, const fs::path& dir, double wall_s) {
  std::printf("swarm %s: %s, %llu of %llu seeds ran: %llu passed, %llu failed, %llu errors "
              "(%.1f s, %.1f seeds/s)\n",
              s["scenario"].get<std::string>().c_str(), s["verdict"].get<std::string>().c_str(),
              static_cast<unsigned long long>(s["ran"].get<uint64_t>()),
              static_cast<unsigned long long>(s["planned"].get<uint64_t>()),
              static_cast<unsigned long long>(s["passed"].get<uint64_t>()),
              static_cast<unsigned long long>(s["failed"].get<uint64_t>()),
              static_cast<unsigned long long>(s["errors"].get<uint64_t>()), wall_s,
              wall_s > 0 ? s["ran"].get<double>() / wall_s : 0.0);
  for (const auto& e : s["expectations"])
    std::printf("  %-24s %6.1f%% pass\n", e["name"].get<std::string>().c_str(),
                100 * e["pass_rate"].get<double>());
  for (const auto& f : s["failing"])
    std::printf("  reproduce: %s\n", f["reproduce"].get<std::string>().c_str());
  std::printf("swarm: %s\n", (dir / "swarm.html").string().c_str());
}

/// --shrink: each failing seed's schedule shrunk into seed-N/shrunk.json (the first
/// `shrink_seeds_max`, each bounded in runs), named in swarm.json's `failing` entries.
void shrink_failing(json& summary, const fs::path& dir) {
  constexpr size_t shrink_seeds_max = 5, runs_max = 200;
  size_t shrunk = 0;
  for (auto& f : summary["failing"]) {
    if (f.value("verdict", "") != "fail" || shrunk == shrink_seeds_max)
      continue;
    const std::string seed = std::to_string(f["seed"].get<uint64_t>());
    const fs::path run_dir = dir / ("seed-" + seed), out = run_dir / "shrunk.json";
    std::printf("shrinking seed %s\n", seed.c_str());
    try {
      auto r = shrink_to_file(run_dir, out, runs_max);
      f["shrunk"] = json{{"file", "seed-" + seed + "/shrunk.json"},
                         {"faults_before", r.faults_before},
                         {"faults_after", r.faults_after},
                         {"steps_after", r.steps_after}};
      ++shrunk;
    } catch (const user_error& e) {
      std::printf("seed %s: not shrunk: %s\n", seed.c_str(), e.what());
    }
  }
  backends::write_swarm_json(dir, summary);
}

int run_swarm_command(const swarm_args& a) {
  if (a.file.empty())
    throw user_error("swarm: give a scenario FILE (troupe swarm FILE --seeds A..B), or use "
                     "`troupe swarm merge DIR...`");
  const auto s = load_scenario(a.file);
  auto plan = make_plan(a, s);
  if (!a.emit.empty())
    return emit_k8s(a, plan);
  backends::swarm_options o;
  o.plan = plan;
  o.troupe_binary = fs::read_symlink("/proc/self/exe");
  o.out = a.out.empty() ? default_swarm_dir(s.name) : fs::path(a.out);
  o.jobs = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
  o.seed_timeout =
    std::chrono::duration_cast<std::chrono::seconds>(parse_duration_option("--timeout", a.timeout));
  if (o.seed_timeout.count() < 1)
    o.seed_timeout = std::chrono::seconds(1);
  o.interrupted = &swarm_interrupted;
  o.on_seed = seed_printer{backends::shard_seeds(plan).size()};
  std::signal(SIGINT, on_swarm_signal);
  std::signal(SIGTERM, on_swarm_signal);
  const auto start = std::chrono::steady_clock::now();
  auto summary = backends::run_swarm(o);
  const double wall_s =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.shrink && !summary.value("interrupted", false))
    shrink_failing(summary, o.out);
  write_swarm_html(o.out, summary);
  print_summary(summary, o.out, wall_s);
  return backends::swarm_exit_code(summary);
}

int merge_command(const swarm_args& a) {
  std::vector<json> shards;
  for (const auto& d : a.merge_dirs) {
    std::ifstream in{fs::path(d) / "swarm.json"};
    json j = in ? json::parse(in, nullptr, false) : json();
    if (!j.is_object())
      throw user_error("swarm merge: " + d +
                       " holds no readable swarm.json; give the --out "
                       "directory of each shard");
    shards.push_back(std::move(j));
  }
  auto merged = backends::merge_swarms(shards);
  const fs::path out = a.merge_out.empty()
                         ? default_swarm_dir(merged["scenario"].get<std::string>())
                         : fs::path(a.merge_out);
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec)
    throw user_error("swarm merge: cannot create " + out.string() + ": " + ec.message());
  backends::write_swarm_json(out, merged);
  write_swarm_html(out, merged);
  print_summary(merged, out, 0);
  return backends::swarm_exit_code(merged);
}

} // namespace

void add_swarm_command(CLI::App& root, int& exit_code) {
  static swarm_args a;
  auto swarm = root.add_subcommand(
    "swarm", "Run many seeds of a scenario in parallel processes; swarm.json and swarm.html; "
             "exit 0 all passed, 1 a seed failed, 2 bad input");
  swarm->add_option("FILE", a.file, "scenario JSON file");
  swarm->add_option("--seeds", a.seeds, "seeds to run, A..B (inclusive)");
  swarm->add_option("-j,--jobs", a.jobs, "runs at a time (default: the number of cores)")
    ->check(CLI::Range(1u, 1024u));
  swarm->add_option("--out", a.out, "swarm directory (default runs/<scenario>-swarm-<timestamp>)");
  swarm->add_flag("--vary", a.vary,
                  "draw each seed's fault parameters from the ranges its chaos workloads "
                  "declare under \"vary\"");
  swarm->add_option("--shard", a.shard, "run shard K of M (K counted from 0) of the seeds");
  swarm->add_option("--timeout", a.timeout, "wall time per seed before it is killed (10m)");
  swarm->add_flag("--shrink", a.shrink, "shrink each failing seed's fault schedule (shrunk.json)");
  swarm->add_option("--emit", a.emit,
                    "print instead of running: k8s-job (a Kubernetes "
                    "Indexed Job running the shards)");
  swarm->add_option("--shards", a.shards, "with --emit k8s-job: how many shards (pods)")
    ->check(CLI::Range(1u, 100000u));
  swarm->add_option("--image", a.image, "with --emit k8s-job: the image with troupe");
  swarm->add_option("--results-claim", a.results_claim,
                    "with --emit k8s-job: the PersistentVolumeClaim for the shards' results");
  auto merge = swarm->add_subcommand("merge", "Join the swarm.json of every shard into one");
  merge->add_option("DIR", a.merge_dirs, "each shard's swarm directory")->required();
  merge->add_option("--out", a.merge_out, "directory for the merged swarm.json and swarm.html");
  merge->callback([&exit_code] { exit_code = merge_command(a); });
  swarm->callback([swarm, merge, &exit_code] {
    if (swarm->got_subcommand(merge))
      return;
    exit_code = run_swarm_command(a);
  });
}

} // namespace troupe::apps
