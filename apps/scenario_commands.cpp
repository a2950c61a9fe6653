// troupe validate | topology | run: scenario files in, verdicts out.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "actors/errors.hpp"
#include "actors/link_requests.hpp"
#include "actors/registry.hpp"
#include "actors/run_outcome.hpp"
#include "actors/runner.hpp"
#include "actors/scenario/leadership.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/scenario/vary.hpp"
#include "apps/commands.hpp"
#include "apps/duration_option.hpp"
#include "apps/seed_option.hpp"
#include "backends/sim/determinism.hpp"
#include "backends/ssh/ssh_backend.hpp"
#include "report/events_db.hpp"
#include "report/report.hpp"

namespace troupe::apps {

namespace {

/// Puts every control and fault the scenario's workloads may ask for to the backend's
/// capability query; prints each refusal. Returns how many there were.
size_t list_refusals(const std::string& file, const scenario& s, const expanded_topology& t,
                     const std::string& backend_name) {
  auto& reg = registry::global();
  const auto* kind = reg.backend(backend_name);
  if (!kind)
    throw user_error("unknown backend \"" + backend_name + "\": use one of " + reg.backend_names());
  auto b = kind->make();
  size_t refused = 0;
  auto ask = [&](const fault_request& f) {
    auto why = b->refusal(f, s, t);
    if (!why)
      return;
    ++refused;
    std::printf("%s: %s (%s, %s): backend %s cannot do it: %s\n", file.c_str(), f.where.c_str(),
                f.action.c_str(), f.when.c_str(), backend_name.c_str(), why->c_str());
  };
  // The written link profiles first: they shape the links before any step runs.
  for (const auto& f : link_profile_requests(s, t))
    ask(f);
  for (size_t i = 0; i < s.workloads.size(); ++i) {
    const auto& w = s.workloads[i];
    const auto* k = reg.workload(w.kind);
    if (!k || !k->faults)
      continue;
    std::vector<validation_error> ignored; // reported by load_scenario already
    params_reader r{w.params, "workloads[" + std::to_string(i) + "]", ignored};
    for (const auto& f : k->faults(r, s, t))
      ask(f);
  }
  return refused;
}

/// Per group, whether it leads (produces blocks) and why: a role that defaulted to the group's
/// name is said out loud (actors/scenario/leadership.hpp).
void print_leadership(const scenario& s, const std::string& backend, const char* indent) {
  for (const auto& g : describe_leadership(s, backend, registry::global()))
    std::printf("%s%s\n", indent, to_string(g).c_str());
  std::fflush(stdout);
}

int validate_files(const std::vector<std::string>& files, const std::string& backend_name,
                   bool strict) {
  int code = exit_pass;
  for (const auto& f : files) {
    try {
      auto s = load_scenario(f);
      // Counted, not expanded: validating never builds the nodes.
      const auto size = size_of(s.topology);
      std::printf("%s: ok (%llu nodes, %s%llu links, %zu workloads, %zu expectations)\n", f.c_str(),
                  static_cast<unsigned long long>(size.nodes), size.links_exact ? "" : "at least ",
                  static_cast<unsigned long long>(size.links), s.workloads.size(),
                  s.expectations.size());
      print_leadership(s, backend_name.empty() ? s.backend.name : backend_name, "  ");
      if (backend_name.empty())
        continue;
      auto t = expand(s);
      auto refused = list_refusals(f, s, t, backend_name);
      if (refused == 0)
        std::printf("%s: backend %s can do every control and fault it asks for\n", f.c_str(),
                    backend_name.c_str());
      else if (strict)
        code = exit_bad_input;
    } catch (const validation_failed& e) {
      for (const auto& err : e.errors())
        std::fprintf(stderr, "%s: %s\n", f.c_str(), err.to_string().c_str());
      code = exit_bad_input;
    } catch (const user_error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = exit_bad_input;
    }
  }
  return code;
}

/// --vary: the ranges drawn from the run's seed, checked like the file, recorded in the
/// report and named in the reproduce command.
void apply_vary_option(scenario& s, run_request& req, const std::string& file) {
  auto drawn = apply_vary(s, req.seed.value_or(s.seed));
  if (drawn.empty())
    throw user_error("--vary: " + file +
                     " declares no ranges; add a \"vary\" object to a chaos workload, e.g. "
                     "\"vary\": {\"partitions.duration_max\": [\"10s\", \"1m\"]}");
  s = scenario_from_json(to_json(s));
  req.report_extra["vary"] = std::move(drawn);
  req.reproduce_flags += " --vary";
}

void on_run_signal(int) { run_interrupted = 1; }

} // namespace

void add_scenario_commands(CLI::App& root, int& exit_code) {
  // -- validate ---------------------------------------------------------------
  auto validate = root.add_subcommand("validate", "Check scenario files; report every problem "
                                                  "with its JSON path (exit 2 if any)");
  static std::vector<std::string> validate_paths;
  static std::string validate_backend;
  static bool validate_strict = false;
  validate->add_option("FILE", validate_paths, "scenario JSON files")->required();
  validate->add_option("--backend", validate_backend,
                       "also list each step and chaos item this backend cannot do, with the "
                       "reason (sim, local)");
  validate->add_flag("--strict", validate_strict,
                     "with --backend: exit 2 when the backend cannot do any of them");
  validate->callback([&exit_code] {
    exit_code = validate_files(validate_paths, validate_backend, validate_strict);
  });

  // -- topology ---------------------------------------------------------------
  auto topo = root.add_subcommand("topology", "Print the expanded nodes and peer graph");
  static std::string topo_file;
  static std::string topo_format = "text";
  static std::string topo_backend;
  topo->add_option("FILE", topo_file, "scenario JSON file")->required();
  topo->add_option("--format", topo_format, "text or dot (Graphviz)")
    ->check(CLI::IsMember({"text", "dot"}));
  topo->add_option("--backend", topo_backend,
                   "ssh: also print which host runs which node (the scenario's backend params)");
  topo->callback([&exit_code] {
    auto s = load_scenario(topo_file);
    auto t = expand(s);
    std::cout << (topo_format == "dot" ? to_dot(s, t) : to_text(s, t));
    if (!topo_backend.empty() && topo_backend != "ssh")
      throw user_error("troupe topology --backend " + topo_backend +
                       ": only ssh places nodes on hosts; drop --backend, or use ssh");
    if (topo_backend == "ssh") {
      if (s.backend.name != "ssh")
        throw user_error(topo_file + " runs on the " + s.backend.name +
                         " backend: give it \"backend\": {\"name\": \"ssh\", \"hosts\": "
                         "\"hosts.json\"} to place its nodes on hosts");
      std::cout << backends::ssh::describe_plan(backends::ssh::plan(s, t), t);
    }
    exit_code = exit_pass;
  });

  // -- run --------------------------------------------------------------------
  auto run = root.add_subcommand("run", "Run a scenario; exit 0 pass, 1 an expectation "
                                        "failed, 2 bad input");
  static std::string run_file;
  static std::string backend, duration_text, out;
  static std::string seed;
  static bool quiet = false, check_determinism = false, events = false, vary = false, keep = false;
  run->add_option("FILE", run_file, "scenario JSON file")->required();
  run->add_option("--backend", backend,
                  "world to run in (default: the scenario's; sim, local, ssh, compose, attach)");
  run->add_option("--seed", seed, "seed (default: the scenario's)");
  run->add_option("--duration", duration_text, "run duration, e.g. 30s, 10m");
  run->add_option("--out", out,
                  "run directory (default runs/<scenario>-<timestamp>); a previous run's is "
                  "emptied first, any other non-empty directory refused");
  run->add_flag("--quiet", quiet, "no console summary");
  run->add_flag("--vary", vary,
                "draw the fault parameters from the ranges the scenario's chaos workloads "
                "declare under \"vary\", from the seed (recorded in report.json)");
  run->add_flag("--keep", keep,
                "compose: leave the run's containers, network and volumes on the daemon (the "
                "nodes stopped) and print the command that removes them");
  run->add_flag("--events", events, "write events.jsonl (sim: every delivery, drop, fault)");
  static std::string log_level = "warn", prometheus_url;
  static int metrics_port = -1, serve_port = -1;
  static double pace = 0;
  run
    ->add_option("--log-level", log_level,
                 "console level of troupe's log (trace, debug, info, warn, error, off); "
                 "<run dir>/troupe.log always gets info and up")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  run->add_option("--metrics-port", metrics_port,
                  "serve Prometheus metrics on 127.0.0.1:PORT/metrics during the run");
  run->add_option("--serve", serve_port, "live dashboard on http://127.0.0.1:PORT/");
  run->add_option("--prometheus-url", prometheus_url,
                  "Prometheus API base URL for `metric` expectations without a `url`");
  run
    ->add_option("--pace", pace,
                 "sim: at most this many simulated seconds per wall second (to watch it)")
    ->check(CLI::PositiveNumber);
  run->add_flag("--check-determinism", check_determinism,
                "sim: run twice, each in a process of its own, and name the first diverging "
                "event");
  // The child side of --check-determinism (hidden): record this window of the trace.
  static std::string trace_record, trace_out;
  run->add_option("--trace-record", trace_record, "FROM,COUNT,EVERY")->group("");
  run->add_option("--trace-out", trace_out, "where the trace goes (JSON)")->group("");
  static std::string events_db_url;
  static uint64_t events_db_log_lines = report::events_db_options{}.log_lines_per_node_max;
  run->add_option("--events-db", events_db_url,
                  "record the run (events, faults, verdicts, node log lines) in this PostgreSQL "
                  "database, postgresql://USER:PASSWORD@HOST:PORT/DB (tables made on first use)");
  run->add_option("--events-db-log-lines", events_db_log_lines,
                  "with --events-db: the last lines of each node's log it records (default 1000)");
  run->callback([run, &exit_code] {
    auto s = load_scenario(run_file);
    run_request req;
    req.scenario_path = run_file;
    if (!backend.empty())
      req.backend = backend;
    if (keep) {
      if (req.backend.value_or(s.backend.name) != "compose")
        throw user_error("--keep leaves a compose run's stack up, and this run's backend is " +
                         req.backend.value_or(s.backend.name) +
                         ": drop --keep, or run with --backend compose");
      if (!s.backend.params.is_object())
        s.backend.params = nlohmann::json::object();
      s.backend.params["keep"] = true;
    }
    if (run->count("--seed"))
      req.seed = parse_seed_option("--seed", seed);
    if (vary)
      apply_vary_option(s, req, run_file);
    if (!duration_text.empty())
      req.run_duration = parse_duration_option("--duration", duration_text);
    req.out = out;
    req.quiet = quiet;
    req.write_events = events;
    req.log_level = log_level;
    req.metrics_port = metrics_port;
    req.serve_port = serve_port;
    req.prometheus_url = prometheus_url;
    req.pace = pace;
    if (!events_db_url.empty()) {
      // Connected (and its tables made) before anything runs: a wrong URL costs no run.
      auto db = std::make_shared<report::events_db>(
        report::events_db_options{events_db_url, events_db_log_lines});
      req.on_reported = [db](const run_outcome& o, const nlohmann::json& rep,
                             const std::filesystem::path& dir) { db->record(o, rep, dir); };
    }
    std::signal(SIGINT, on_run_signal);
    std::signal(SIGTERM, on_run_signal);
    // The run's first lines: who produces blocks, before anything is deployed.
    if (!quiet)
      print_leadership(s, req.backend.value_or(s.backend.name), "");
    if (check_determinism) {
      if (req.backend.value_or(s.backend.name) != "sim")
        throw user_error("--check-determinism needs the sim backend; drop --backend or use "
                         "--backend sim");
      backends::determinism_processes procs;
      procs.troupe_binary = std::filesystem::read_symlink("/proc/self/exe");
      procs.run_args = {run_file};
      if (run->count("--seed"))
        procs.run_args.insert(procs.run_args.end(), {"--seed", seed});
      if (!duration_text.empty())
        procs.run_args.insert(procs.run_args.end(), {"--duration", duration_text});
      if (vary)
        procs.run_args.push_back("--vary");
      auto check = backends::check_determinism(s, req, registry::global(), &procs);
      std::cout << backends::describe(check);
      if (!quiet)
        std::cout << console_summary(check.first_run.report);
      exit_code = check.divergence.diverged ? exit_fail : check.first_run.exit_code;
      return;
    }
    if (!trace_out.empty()) {
      auto result = backends::run_recording_trace(
        s, req, registry::global(), backends::parse_trace_record(trace_record), trace_out);
      exit_code = result.exit_code;
      return;
    }
    auto result = run_scenario(s, req);
    if (!quiet)
      std::cout << console_summary(result.report);
    exit_code = result.exit_code;
  });
}

} // namespace troupe::apps
