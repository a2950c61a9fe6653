#include "backends/sim/swarm.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "actors/errors.hpp"

namespace troupe::backends {

namespace fs = std::filesystem;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct child {
  uint64_t seed = 0;
  clock_type::time_point started;
  bool timed_out = false;
};

fs::path seed_dir(const swarm_options& o, uint64_t seed) {
  return o.out / ("seed-" + std::to_string(seed));
}

/// Forks `troupe run FILE --seed N --out DIR [--vary]` in a process group of its own, its
/// console to logs/seed-N.log; the child dies with the swarm (PR_SET_PDEATHSIG).
pid_t start_seed(const swarm_options& o, uint64_t seed) {
  const std::string bin = o.troupe_binary.string(), file = o.plan.file;
  const std::string seed_text = std::to_string(seed), dir = seed_dir(o, seed).string();
  const std::string log = (o.out / "logs" / ("seed-" + seed_text + ".log")).string();
  std::vector<const char*> argv{bin.c_str(),       "run",   file.c_str(), "--seed",
                                seed_text.c_str(), "--out", dir.c_str()};
  if (o.plan.vary)
    argv.push_back("--vary");
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0)
    throw user_error(std::string("swarm: cannot start a child process: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    // Not the terminal's: a child in a process group of its own must never read it.
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
      close(null_fd);
    }
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(bin.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  setpgid(pid, pid); // both sides set it: no race with the first signal
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/// Reaps the children that ended; kills (by PID, with their groups) those past the timeout.
void reap(const swarm_options& o, std::map<pid_t, child>& running, std::vector<json>& done) {
  for (auto it = running.begin(); it != running.end();) {
    auto& c = it->second;
    int status = 0;
    const pid_t r = waitpid(it->first, &status, WNOHANG);
    if (r == it->first) {
      std::string reason;
      int code = exit_code_of(status);
      if (c.timed_out) {
        code = 124;
        reason =
          "killed after the per-seed timeout of " + std::to_string(o.seed_timeout.count()) + " s";
      }
      done.push_back(seed_result(c.seed, seed_dir(o, c.seed), code, reason));
      if (o.on_seed)
        o.on_seed(done.back());
      it = running.erase(it);
      continue;
    }
    if (!c.timed_out && clock_type::now() - c.started > o.seed_timeout) {
      c.timed_out = true;
      kill(-it->first, SIGKILL);
    }
    ++it;
  }
}

/// Ctrl-C: SIGTERM to each child's group (its run tears down and writes its report), then
/// SIGKILL after the grace; reaps them all. A seed whose run had ended before the signal
/// reached it is kept; one it interrupted is not a result.
void stop_children(const swarm_options& o, std::map<pid_t, child>& running,
                   std::vector<json>& done) {
  for (const auto& [pid, c] : running)
    kill(-pid, SIGTERM);
  const auto deadline = clock_type::now() + o.stop_grace;
  while (!running.empty()) {
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      if (waitpid(it->first, &status, WNOHANG) != it->first) {
        ++it;
        continue;
      }
      auto r = seed_result(it->second.seed, seed_dir(o, it->second.seed), exit_code_of(status), "");
      const std::string v = r.value("verdict", "error");
      if (v == "pass" || v == "fail")
        done.push_back(std::move(r));
      it = running.erase(it);
    }
    if (clock_type::now() > deadline)
      for (const auto& [pid, c] : running)
        kill(-pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void prepare_out(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec))
    throw user_error("swarm --out " + out.string() +
                     " is not empty; choose a new or empty directory for the swarm");
  fs::create_directories(out / "logs", ec);
  if (ec)
    throw user_error("cannot create swarm directory " + out.string() + ": " + ec.message() +
                     "; choose another --out");
}

} // namespace

void write_swarm_json(const fs::path& dir, const json& summary) {
  const auto tmp = dir / "swarm.json.tmp";
  {
    std::ofstream f{tmp};
    f << summary.dump(2) << "\n";
  }
  fs::rename(tmp, dir / "swarm.json");
}

json run_swarm(const swarm_options& o) {
  prepare_out(o.out);
  const auto seeds = shard_seeds(o.plan);
  std::map<pid_t, child> running;
  std::vector<json> done;
  size_t next = 0;
  bool stopped = false;
  while (next < seeds.size() || !running.empty()) {
    if (o.interrupted && *o.interrupted) {
      stop_children(o, running, done);
      stopped = true;
      break;
    }
    while (running.size() < std::max(1u, o.jobs) && next < seeds.size()) {
      const uint64_t seed = seeds[next++];
      running.emplace(start_seed(o, seed), child{seed, clock_type::now(), false});
    }
    const size_t before = done.size();
    reap(o, running, done);
    if (done.size() == before)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto summary = summarise_swarm(o.plan, std::move(done), stopped);
  write_swarm_json(o.out, summary);
  return summary;
}

} // namespace troupe::backends
