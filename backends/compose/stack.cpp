#include "backends/compose/stack.hpp"

#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "backends/compose/docker.hpp"

namespace troupe::backends::compose {

using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string label_filter(const std::string& run_id) {
  return run_id.empty() ? "label=troupe.run" : "label=troupe.run=" + run_id;
}

std::vector<std::string> listed(const std::vector<std::string>& cmd, const std::string& run_id) {
  auto args = cmd;
  args.insert(args.end(), {"-q", "--filter", label_filter(run_id)});
  auto r = docker(args, seconds(60));
  return r.code == 0 ? output_words(r.out) : std::vector<std::string>{};
}

size_t remove_all(std::vector<std::string> cmd, const std::vector<std::string>& ids) {
  if (ids.empty())
    return 0;
  cmd.insert(cmd.end(), ids.begin(), ids.end());
  docker(cmd, seconds(120));
  return ids.size();
}

// $1 the docker client, $2 the label filter. `read` returns non-zero only at end of file: the
// pipe's one writer (troupe) closed it or died. After a normal teardown nothing is left. As
// sweep(): services first (a swarm run's), then rounds until nothing is listed, bounded.
constexpr const char* janitor_script =
  "while read -r _; do :; done; d=\"$1\"; f=\"$2\"; i=0; "
  "s=$(\"$d\" service ls -q --filter \"$f\" 2>/dev/null); "
  "[ -z \"$s\" ] || \"$d\" service rm $s >/dev/null 2>&1; "
  "while [ $i -lt 120 ]; do "
  "c=$(\"$d\" ps -aq --filter \"$f\"); [ -z \"$c\" ] || \"$d\" rm -f $c >/dev/null 2>&1; "
  "n=$(\"$d\" network ls -q --filter \"$f\"); "
  "[ -z \"$n\" ] || \"$d\" network rm $n >/dev/null 2>&1; "
  "v=$(\"$d\" volume ls -q --filter \"$f\"); "
  "[ -z \"$v\" ] || \"$d\" volume rm -f $v >/dev/null 2>&1; "
  "x=$(\"$d\" secret ls -q --filter \"$f\" 2>/dev/null); "
  "[ -z \"$x\" ] || \"$d\" secret rm $x >/dev/null 2>&1; "
  "[ -n \"$c$n$v$x\" ] || exit 0; i=$((i+1)); sleep 1; "
  "done; exit 0";

/// One kind of labelled object: how it is listed and removed.
struct kind {
  std::vector<std::string> list, remove;
  size_t swept::*count;
};

const std::vector<kind>& leftover_kinds() {
  // Containers before their networks and volumes; secrets once no service holds them.
  static const std::vector<kind> k{{{"ps", "-a"}, {"rm", "-f"}, &swept::containers},
                                   {{"network", "ls"}, {"network", "rm"}, &swept::networks},
                                   {{"volume", "ls"}, {"volume", "rm", "-f"}, &swept::volumes},
                                   {{"secret", "ls"}, {"secret", "rm"}, &swept::secrets}};
  return k;
}

} // namespace

swept sweep(const std::string& run_id) noexcept {
  swept s;
  try {
    // A service's removal is what makes Swarm stop its tasks; the rest follows in rounds:
    // an overlay network is in use until its tasks are gone, a volume until its container is.
    s.services = remove_all({"service", "rm"}, listed({"service", "ls"}, run_id));
    std::vector<std::set<std::string>> removed(leftover_kinds().size());
    const auto deadline = std::chrono::steady_clock::now() + sweep_wait;
    for (;;) {
      bool any = false;
      for (size_t i = 0; i < leftover_kinds().size(); ++i) {
        const auto& k = leftover_kinds()[i];
        auto ids = listed(k.list, run_id);
        any = any || !ids.empty();
        removed[i].insert(ids.begin(), ids.end());
        remove_all(k.remove, ids);
      }
      if (!any || std::chrono::steady_clock::now() >= deadline)
        break;
      std::this_thread::sleep_for(milliseconds(500));
    }
    for (size_t i = 0; i < removed.size(); ++i)
      s.*(leftover_kinds()[i].count) = removed[i].size();
  } catch (const std::exception&) {
    // No docker client: nothing could have been made either.
  }
  return s;
}

swept count_labelled(const std::string& run_id) noexcept {
  swept s;
  try {
    s.services = listed({"service", "ls"}, run_id).size();
    for (const auto& k : leftover_kinds())
      s.*k.count = listed(k.list, run_id).size();
  } catch (const std::exception&) {
  }
  return s;
}

stack::stack(std::string run_id, std::filesystem::path file)
  : run_id_(std::move(run_id))
  , file_(std::move(file)) {}

std::vector<std::string> stack::compose(std::vector<std::string> args) const {
  auto cmd = compose_command();
  cmd.insert(cmd.end(), {"-p", run_id_, "-f", file_.string()});
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

void stack::guard() {
  try {
    janitor_ = std::make_unique<agent::janitor>(
      janitor_script, "troupe-compose-janitor",
      std::vector<std::string>{docker_binary(), label_filter(run_id_)}, "compose janitor");
    janitor_->set_exit_wait(60);
  } catch (const std::runtime_error& e) {
    throw user_error(std::string(e.what()) + ": the compose backend needs /bin/sh to remove the "
                                             "stack of a run that troupe could not end itself");
  }
}

void stack::up(milliseconds timeout) {
  auto r = ssh::run_process(compose({"up", "-d", "--no-build"}), timeout);
  if (r.code == 0)
    return;
  if (auto busy = busy_port_sentence(r, "the compose backend"); !busy.empty())
    throw user_error(busy);
  // The Compose tool's last line says what failed ("ERROR: ...").
  std::string last;
  std::istringstream in{r.err.empty() ? r.out : r.err};
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos)
      last = line;
  throw user_error(
    "the Compose stack of the run did not come up (" +
    (r.timed_out ? "not within " + std::to_string(timeout.count() / 1000) + " s" : last) +
    "); see " + file_.string());
}

network_info stack::network() const {
  auto r = docker({"network", "inspect", run_id_}, seconds(30));
  if (r.code != 0)
    throw user_error("the run network " + run_id_ + " cannot be read: " + first_line(r));
  network_info out;
  try {
    auto j = nlohmann::json::parse(r.out).at(0);
    const auto& cfg = j.at("IPAM").at("Config").at(0);
    out.subnet = cfg.value("Subnet", "");
    out.gateway = cfg.value("Gateway", "");
    const auto containers = j.value("Containers", nlohmann::json::object());
    for (const auto& c : containers) {
      auto ip = c.value("IPv4Address", "");
      out.addresses[c.value("Name", "")] = ip.substr(0, ip.find('/'));
    }
  } catch (const std::exception& e) {
    throw user_error("the run network " + run_id_ + " is not what the compose backend expects (" +
                     e.what() + ")");
  }
  return out;
}

std::string stack::state(const std::string& container) const {
  auto r = docker({"inspect", "--format", "{{.State.Status}}", container}, seconds(30));
  return r.code == 0 ? first_line(r) : std::string{};
}

std::string stack::output_tail(const std::string& container, size_t lines) const {
  auto r = docker({"logs", "--tail", std::to_string(lines), container}, seconds(30));
  return r.out + r.err;
}

void stack::down() noexcept {
  try {
    ssh::run_process(compose({"down", "-v", "--remove-orphans", "-t", "10"}), seconds(180));
  } catch (const std::exception&) {
  }
  sweep(run_id_);
  release_guard();
}

std::string stack::remove_command() const {
  std::string cmd;
  try {
    for (const auto& a : compose({"down", "-v"}))
      cmd += (cmd.empty() ? "" : " ") + a;
  } catch (const std::exception&) {
    cmd = "docker-compose -p " + run_id_ + " -f " + file_.string() + " down -v";
  }
  return "DOCKER_HOST=" + docker_host() + " " + cmd;
}

} // namespace troupe::backends::compose
