#pragma once
// What the compose backend's tests share: the test daemon with this build's images on it, a
// run directory, and how many services, containers, networks, volumes and secrets carry a
// run's label.

#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/docker_daemon.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

namespace troupe::test::compose {

/// The daemon, with images of the built-in programs made from this build's troupe (once per
/// test process): "" when ready, else why not (the test skips with it, or fails on a build).
inline std::string ready_daemon() {
  auto& d = docker();
  if (!d.error().empty())
    return d.error();
  static std::string built = [] {
    for (const char* program : {"litecoin-regtest", "etcd"}) {
      auto o = troupe_cli(std::string("image build ") + program, 300);
      if (o.code != 0)
        return "troupe image build " + std::string(program) + " failed: " + o.out;
    }
    return std::string{};
  }();
  return built;
}

/// An empty run directory under build/test-runs/compose/.
inline std::filesystem::path run_dir(const std::string& name) {
  auto d = std::filesystem::path{build_dir()} / "test-runs" / "compose" / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d.parent_path());
  return d;
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in{p};
  return nlohmann::json::parse(in);
}

/// The run id of the run in `dir` (its Compose or stack file's network name), "" before it is
/// written.
inline std::string run_id_of(const std::filesystem::path& dir) {
  for (const char* file : {"docker-compose.yml", "docker-stack.yml"}) {
    try {
      if (std::filesystem::exists(dir / "compose" / file))
        return read_json(dir / "compose" / file)["networks"]["run"]["name"];
    } catch (const std::exception&) {
    }
  }
  return {};
}

struct labelled {
  size_t services = 0, containers = 0, networks = 0, volumes = 0, secrets = 0;
  size_t total() const { return services + containers + networks + volumes + secrets; }
};

/// What the daemon holds with label troupe.run=<id>, as a user lists it.
inline labelled count_labelled(const std::string& id) {
  auto lines = [](const std::string& out) {
    size_t n = 0;
    for (char c : out)
      n += c == '\n';
    return n;
  };
  const auto f = " --filter label=troupe.run=" + id;
  labelled l;
  // Services and secrets exist on a Swarm manager only; elsewhere the listing fails (quietly).
  l.services = lines(docker().docker("service ls -q" + f + " 2>/dev/null").out);
  l.secrets = lines(docker().docker("secret ls -q" + f + " 2>/dev/null").out);
  l.containers = lines(docker().docker("ps -aq" + f).out);
  l.networks = lines(docker().docker("network ls -q" + f).out);
  l.volumes = lines(docker().docker("volume ls -q" + f).out);
  return l;
}

inline std::string describe(const labelled& l) {
  return std::to_string(l.services) + " services, " + std::to_string(l.containers) +
         " containers, " + std::to_string(l.networks) + " networks, " + std::to_string(l.volumes) +
         " volumes, " + std::to_string(l.secrets) + " secrets";
}

/// After signal `sig` to troupe (`pid`) mid-run of the run `id` in `dir` (its output in
/// `log`): on SIGINT or SIGTERM troupe exits within `exit_within`, having written an
/// "interrupted" report and removed everything with the run's label; on SIGKILL it tore
/// nothing down, and its janitor (which saw the end of its pipe) sweeps the label within
/// `sweep_within`.
inline void expect_nothing_left_after(pid_t pid, int sig, const std::filesystem::path& dir,
                                      const std::string& log, const std::string& id,
                                      std::chrono::seconds exit_within,
                                      std::chrono::seconds sweep_within) {
  ::kill(pid, sig);
  const int code = troupe::test::wait_exit(pid, exit_within);
  if (sig != SIGKILL) {
    EXPECT_NE(code, -1) << "troupe exits after the signal";
    ASSERT_TRUE(std::filesystem::exists(dir / "report.json")) << troupe::test::file_text(log);
    EXPECT_EQ(read_json(dir / "report.json")["verdict"], "interrupted");
    const auto left = count_labelled(id);
    EXPECT_EQ(left.total(), 0u) << describe(left);
    return;
  }
  labelled left;
  EXPECT_TRUE(troupe::test::wait_until(
    [&] {
      left = count_labelled(id);
      return left.total() == 0;
    },
    sweep_within, std::chrono::milliseconds(500)))
    << describe(left);
}

/// A `--keep` run's output `out` names the command that removes its stack ("remove it with:
/// CMD"): running it (bounded by `seconds`) leaves nothing with the run's label `id`.
inline void expect_printed_removal_leaves_nothing(const std::string& out, const std::string& id,
                                                  int seconds) {
  const std::string marker = "remove it with: ";
  auto at = out.find(marker);
  ASSERT_NE(at, std::string::npos) << out;
  auto cmd = out.substr(at + marker.size());
  cmd = cmd.substr(0, cmd.find('\n'));
  auto removed = troupe::test::shell(cmd, seconds);
  EXPECT_EQ(removed.code, 0) << cmd << "\n" << removed.out;
  const auto left = count_labelled(id);
  EXPECT_EQ(left.total(), 0u) << describe(left);
}

} // namespace troupe::test::compose
