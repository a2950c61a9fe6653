#include "backends/sim/determinism.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actors/errors.hpp"
#include "actors/json_read.hpp"
#include "backends/sim/sim_backend.hpp"

namespace troupe::backends {

namespace {

using nlohmann::json;

std::string request_text(const sim::trace_request& tr) {
  return std::to_string(tr.record_from) + "," + std::to_string(tr.record_count) + "," +
         std::to_string(tr.checkpoint_every);
}

/// Runs `troupe run ARGS... --quiet --out DIR --trace-record .. --trace-out DIR/trace.json`,
/// its console to DIR/console.log; the child dies with us (PR_SET_PDEATHSIG). Returns the
/// child's exit code.
int run_child(const determinism_processes& p, const std::filesystem::path& dir,
              const sim::trace_request& tr, const std::filesystem::path& trace_path) {
  std::filesystem::create_directories(dir.parent_path());
  std::vector<std::string> args{p.troupe_binary.string(), "run"};
  args.insert(args.end(), p.run_args.begin(), p.run_args.end());
  for (const std::string& a : {std::string("--backend"), std::string("sim"), std::string("--quiet"),
                               std::string("--out"), dir.string(), std::string("--trace-record"),
                               request_text(tr), std::string("--trace-out"), trace_path.string()})
    args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = (dir.parent_path() / (dir.filename().string() + ".log")).string();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0)
    throw user_error(std::string("--check-determinism: cannot start a child process: ") +
                     std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status))
    throw user_error("--check-determinism: the run in " + dir.string() +
                     " died (signal); its console is in " + log);
  const int code = WEXITSTATUS(status);
  if (code != exit_pass && code != exit_fail)
    throw user_error("--check-determinism: the run in " + dir.string() + " exited with " +
                     std::to_string(code) + "; its console is in " + log);
  return code;
}

} // namespace

json trace_to_json(const sim::world_trace& t) {
  json window = json::array();
  for (const auto& e : t.window)
    window.push_back(json::array({e.index, e.at.count(), static_cast<int>(e.type), e.from, e.to,
                                  e.kind, e.payload_hash, e.digest}));
  return json{{"digest", t.digest},
              {"events", t.events},
              {"checkpoint_every", t.checkpoint_every},
              {"checkpoints", t.checkpoints},
              {"window_from", t.window_from},
              {"window", window},
              {"window_text", t.window_text}};
}

sim::world_trace trace_from_json(const json& j) {
  sim::world_trace t;
  t.digest = j.at("digest").get<uint64_t>();
  t.events = j.at("events").get<uint64_t>();
  t.checkpoint_every = j.at("checkpoint_every").get<uint64_t>();
  t.checkpoints = j.at("checkpoints").get<std::vector<uint64_t>>();
  t.window_from = j.at("window_from").get<uint64_t>();
  for (const auto& e : j.at("window")) {
    sim::trace_event ev;
    ev.index = e.at(0).get<uint64_t>();
    ev.at = duration{e.at(1).get<int64_t>()};
    ev.type = static_cast<sim::trace_kind>(e.at(2).get<int>());
    ev.from = e.at(3).get<sim::node_index>();
    ev.to = e.at(4).get<sim::node_index>();
    ev.kind = e.at(5).get<uint32_t>();
    ev.payload_hash = e.at(6).get<uint64_t>();
    ev.digest = e.at(7).get<uint64_t>();
    t.window.push_back(ev);
  }
  t.window_text = j.at("window_text").get<std::vector<std::string>>();
  return t;
}

sim::trace_request parse_trace_record(const std::string& text) {
  sim::trace_request tr;
  unsigned long long a = 0, b = 0, c = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%llu,%llu,%llu%c", &a, &b, &c, &tail) != 3 || c == 0)
    throw user_error("--trace-record takes FROM,COUNT,EVERY (event indices, EVERY > 0), got \"" +
                     text + "\"");
  tr.record_from = a;
  tr.record_count = b;
  tr.checkpoint_every = c;
  return tr;
}

run_result run_recording_trace(const scenario& s, run_request req, const registry& reg,
                               const sim::trace_request& tr,
                               const std::filesystem::path& trace_path) {
  auto trace = std::make_shared<sim::world_trace>();
  req.backend = "sim";
  req.make_backend = [tr, trace] { return std::make_unique<sim_backend>(tr, trace); };
  auto result = run_scenario(s, req, reg);
  std::ofstream out(trace_path);
  out << trace_to_json(*trace).dump();
  if (!out)
    throw user_error("--trace-out: cannot write " + trace_path.string());
  return result;
}

determinism_result check_determinism(const scenario& s, const run_request& req, const registry& reg,
                                     const determinism_processes* procs) {
  determinism_result out;
  out.processes = procs != nullptr;
  const auto base =
    req.out.empty() ? std::filesystem::path("runs") / (s.name + "-determinism") : req.out;
  auto run = [&](const sim::trace_request& tr) {
    const auto dir = base / ("run-" + std::to_string(++out.runs));
    if (procs) {
      std::filesystem::remove_all(dir);
      const auto trace_path = base / ("trace-" + std::to_string(out.runs) + ".json");
      const int code = run_child(*procs, dir, tr, trace_path);
      if (out.runs == 1) {
        out.first_run.exit_code = code;
        out.first_run.run_dir = dir;
        out.first_run.report = read_json_file(dir / "report.json", "the first run's report");
      }
      return trace_from_json(read_json_file(trace_path, "a run's trace"));
    }
    auto trace = std::make_shared<sim::world_trace>();
    run_request r = req;
    r.backend = "sim";
    r.quiet = true;
    r.out = dir;
    r.make_backend = [tr, trace] { return std::make_unique<sim_backend>(tr, trace); };
    auto result = run_scenario(s, r, reg);
    if (out.runs == 1)
      out.first_run = result;
    return *trace;
  };
  out.divergence = sim::compare_runs(run);
  return out;
}

std::string describe(const determinism_result& r) {
  char buf[64];
  const auto& d = r.divergence;
  const std::string how = r.processes ? " runs, each a process of its own," : " runs";
  if (!d.diverged) {
    std::snprintf(buf, sizeof buf, "%016" PRIx64, d.first_digest);
    return std::string("deterministic: ") + std::to_string(r.runs) + how +
           " gave the same trace digest " + buf + "\n";
  }
  std::string out = "NOT deterministic: the runs diverge at trace event #" +
                    std::to_string(d.index) + "\n  run 1: " + d.first_event +
                    "\n  run 2: " + d.second_event + "\n";
  std::snprintf(buf, sizeof buf, "%016" PRIx64 " vs %016" PRIx64, d.first_digest, d.second_digest);
  out += std::string("  final digests: ") + buf + "\n";
  if (!d.note.empty())
    out += "  " + d.note + "\n";
  out += "  Something in the simulated world reads the wall clock, a thread, an unseeded random "
         "source or unordered-container order.\n";
  return out;
}

} // namespace troupe::backends
