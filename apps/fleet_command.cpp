// troupe fleet check HOSTS.json: reaches every host of an ssh inventory as a run would (one
// multiplexed ssh master each, troupe copied once by sha256, an agent started over ssh) and
// says, per host, what it found; exit 2 with one sentence per host that cannot be used.
// --hold keeps the agents up (until the time passes, SIGINT or SIGTERM) for a look at the
// hosts, and is how the tests check that kill -9 of troupe leaves no agent behind.
// troupe fleet gc [RUNS] [--dry-run]: destroys the provisioned hosts of runs whose troupe died
// or whose time-to-live passed (backends/ssh/provisioner.hpp).

#include <signal.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "actors/errors.hpp"
#include "actors/params.hpp"
#include "apps/commands.hpp"
#include "backends/local/local_backend.hpp"
#include "backends/ssh/fleet.hpp"
#include "backends/ssh/provisioner.hpp"

namespace troupe::apps {

namespace {

volatile std::sig_atomic_t fleet_stop = 0;
void on_fleet_signal(int) { fleet_stop = 1; }

int fleet_check(const std::string& file, const std::string& out, const std::string& hold,
                size_t hosts_min, size_t parallel, const std::string& host_keys,
                const std::string& remote_dir) {
  auto inv = backends::ssh::load_inventory(file);
  backends::ssh::fleet_options o;
  o.run_dir =
    out.empty() ? std::filesystem::path("runs") / "fleet-check" : std::filesystem::path(out);
  o.hosts_min = hosts_min;
  o.parallel = parallel;
  o.host_keys = host_keys;
  if (!remote_dir.empty())
    o.remote_dir = remote_dir;
  o.troupe_binary = backends::local::agent_binary_default();
  std::vector<validation_error> errors;
  duration hold_for{};
  if (!hold.empty()) {
    nlohmann::json h{{"hold", hold}};
    params_reader r{h, "--hold", errors};
    hold_for = r.dur("hold", duration::zero());
    if (!errors.empty())
      throw user_error("--hold " + hold + ": give a duration such as 30s or 5m");
  }
  backends::ssh::fleet f{inv, o};
  struct sigaction sa {};
  sa.sa_handler = on_fleet_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  f.connect();
  f.start_agents();
  for (size_t i = 0; i < f.hosts().size(); ++i) {
    const auto& h = f.hosts()[i];
    if (!h.error.empty()) {
      std::printf("%s: not used: %s\n", h.host.describe().c_str(), h.error.c_str());
      continue;
    }
    std::printf("%s: ok: troupe %s (%s), agent running (ssh pid %d), remote run dir %s\n",
                h.host.describe().c_str(), h.copied ? "copied" : "already there",
                h.troupe_path.c_str(), static_cast<int>(h.agent->agent_pid()),
                f.remote_run_dir(i).c_str());
  }
  std::fflush(stdout);
  const auto until = std::chrono::steady_clock::now() + hold_for;
  while (!fleet_stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  f.close();
  std::printf("%zu of %zu hosts usable; every agent stopped\n", f.usable(), f.hosts().size());
  return exit_pass;
}

} // namespace

void add_fleet_command(CLI::App& root, int& exit_code) {
  auto fleet = root.add_subcommand("fleet", "The hosts of the ssh backend");
  fleet->require_subcommand(1);
  auto check = fleet->add_subcommand(
    "check", "Reach every host of an inventory as a run would (ssh master, troupe copied by "
             "sha256, an agent) and say what each one lacks");
  static std::string file, out, hold, host_keys, remote_dir;
  static size_t hosts_min = 0, parallel = 32;
  check->add_option("HOSTS", file, "inventory JSON file (docs/ssh.md)")->required();
  check->add_option("--out", out, "run directory for ssh's state (default runs/fleet-check)");
  check->add_option("--hold", hold, "keep the agents up this long (e.g. 60s; SIGINT ends it)");
  check->add_option("--hosts-min", hosts_min, "succeed with at least this many usable hosts");
  check->add_option("--parallel", parallel, "hosts reached at once (default 32)");
  check->add_option("--remote-dir", remote_dir,
                    "absolute directory on the hosts for troupe and the run (default /tmp/troupe)");
  check->add_option("--host-keys", host_keys, "strict or accept-new (default: the inventory's)")
    ->check(CLI::IsMember({"strict", "accept-new"}));
  check->callback([&exit_code] {
    exit_code = fleet_check(file, out, hold, hosts_min, parallel, host_keys, remote_dir);
  });

  auto gc = fleet->add_subcommand(
    "gc", "Destroy the provisioned hosts that runs left behind (their troupe died, or their "
          "time-to-live passed), by each run's recorded destroy command");
  static std::string gc_root = "runs";
  static bool dry_run = false;
  gc->add_option("RUNS", gc_root, "a run directory, or a directory of them (default runs)");
  gc->add_flag("--dry-run", dry_run, "say what would be destroyed, destroy nothing");
  gc->callback([&exit_code] {
    if (!std::filesystem::is_directory(gc_root))
      throw user_error("troupe fleet gc: " + gc_root +
                       " is not a directory: name the run directory (or the directory of runs, "
                       "default runs) that holds provisioned.json records");
    bool failed = false;
    for (const auto& line : backends::ssh::collect_fleet_garbage(gc_root, dry_run)) {
      std::printf("%s\n", line.c_str());
      failed = failed || line.find("destroy command") != std::string::npos;
    }
    exit_code = failed ? exit_bad_input : exit_pass;
  });
}

} // namespace troupe::apps
