#include "backends/ssh/provisioner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/units.hpp"
#include "backends/ssh/process.hpp"

namespace troupe::backends::ssh {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* record_name = "provisioned.json";
constexpr const char* hosts_name = "provisioned-hosts.json";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Field 22 of /proc/PID/stat (when the process started, in clock ticks since boot): with the
/// PID, it tells the orchestrator from a later process that got its PID. "" when gone.
std::string start_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return {};
  std::istringstream rest{stat.substr(close + 2)};
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
  }
  return field;
}

void write_atomically(const fs::path& p, const json& j) {
  const auto tmp = p.string() + ".tmp";
  {
    std::ofstream out{tmp};
    out << j.dump(2) << "\n";
    if (!out)
      throw user_error("cannot write " + tmp + ": check the run directory is writable");
  }
  fs::rename(tmp, p);
}

/// `cmd "$@"` by /bin/sh with the run's variables in its environment.
std::vector<std::string> provision_argv(const std::string& cmd, const json& rec,
                                        const std::string& what, std::vector<std::string> vars,
                                        const std::vector<std::string>& args) {
  const auto run_dir = rec.value("run_dir", std::string{});
  std::vector<std::string> argv{
    "/usr/bin/env",
    "TROUPE_PROVISION=" + what,
    "TROUPE_RUN_DIR=" + run_dir,
    "TROUPE_RUN_ID=" + fs::path(run_dir).filename().string(),
    "TROUPE_TTL_SECONDS=" + std::to_string(rec.value("ttl_seconds", int64_t{0})),
    "TROUPE_EXPIRES_AT=" + std::to_string(rec.value("expires_at", int64_t{0}))};
  argv.push_back("TROUPE_PROVISIONER_DIR=" + (fs::path(run_dir) / "provisioner").string());
  argv.insert(argv.end(), vars.begin(), vars.end());
  argv.insert(argv.end(), {"/bin/sh", "-c", cmd + " \"$@\"", "troupe-provision"});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

/// Runs the record's destroy command and marks the record destroyed: "" or why not.
std::string destroy_recorded(const fs::path& record_file, json rec) {
  const auto hosts_file = (record_file.parent_path() / hosts_name).string();
  const auto timeout = std::chrono::milliseconds(rec.value("timeout_ms", int64_t{600000}));
  auto r = run_process(provision_argv(rec["destroy"].get<std::string>(), rec, "destroy",
                                      {"TROUPE_HOSTS_FILE=" + hosts_file}, {hosts_file}),
                       timeout, hosts_file);
  if (r.code != 0)
    return "the provisioner's destroy command " +
           std::string(r.timed_out ? "did not finish within its timeout"
                                   : "failed (exit " + std::to_string(r.code) + ")") +
           (r.err.empty() ? std::string{} : ": " + last_line(r.err)) + "; the hosts in " +
           hosts_file + " may still run: destroy them by hand or run `troupe fleet gc` again";
  rec["destroyed"] = true;
  rec["destroyed_at"] = unix_now();
  write_atomically(record_file, rec);
  return {};
}

} // namespace

provisioner_options read_provisioner(params_reader& r) {
  provisioner_options o;
  o.create = r.string("create", "", true);
  o.destroy = r.string("destroy", "", true);
  o.ttl = r.dur("ttl", o.ttl, std::chrono::seconds(1));
  o.count = static_cast<size_t>(r.integer("count", 0, 1, 100000));
  o.labels = r.strings("labels");
  o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
    r.dur("timeout", o.timeout, std::chrono::seconds(1)));
  return o;
}

provisioned_hosts::provisioned_hosts(provisioner_options o, fs::path run_dir)
  : o_(std::move(o))
  , run_dir_(fs::absolute(run_dir)) {}

inventory provisioned_hosts::create(size_t count) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (o_.count)
    count = o_.count;
  const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(o_.ttl).count();
  fs::create_directories(run_dir_ / "provisioner");
  json rec{{"version", 1},
           {"create", o_.create},
           {"destroy", o_.destroy},
           {"run_dir", run_dir_.string()},
           {"ttl_seconds", ttl_s},
           {"created_at", unix_now()},
           {"expires_at", unix_now() + ttl_s},
           {"timeout_ms", o_.timeout.count()},
           {"orchestrator_pid", ::getpid()},
           {"orchestrator_start", start_ticks(::getpid())},
           {"destroyed", false}};
  expires_at_ = rec["expires_at"];
  std::string labels;
  for (const auto& l : o_.labels)
    labels += (labels.empty() ? "" : ",") + l;
  std::vector<std::string> args{std::to_string(count)};
  args.insert(args.end(), o_.labels.begin(), o_.labels.end());
  // Recorded before create runs: hosts made by a create that troupe did not see finish (kill
  // -9 mid-create) are still the destroy command's to find.
  const auto record_file = run_dir_ / record_name;
  write_atomically(record_file, rec);
  created_ = true;
  auto r = run_process(
    provision_argv(o_.create, rec, "create",
                   {"TROUPE_HOST_COUNT=" + std::to_string(count), "TROUPE_HOST_LABELS=" + labels},
                   args),
    o_.timeout);
  std::ofstream{run_dir_ / hosts_name} << r.out;
  if (r.code != 0)
    throw user_error("the provisioner's create command " +
                     std::string(r.timed_out
                                   ? "did not finish within " + format_duration(o_.timeout)
                                   : "failed (exit " + std::to_string(r.code) + ")") +
                     (r.err.empty() ? std::string{} : ": " + last_line(r.err)) +
                     "; check backend.provisioner.create");
  json doc;
  try {
    doc = json::parse(r.out);
  } catch (const json::parse_error&) {
    throw user_error("the provisioner's create command printed no inventory (JSON expected on "
                     "its stdout, e.g. {\"hosts\": [{\"address\": \"10.0.0.5\"}]}; it printed \"" +
                     last_line(r.out.substr(0, 200)) + "\"): see " +
                     (run_dir_ / hosts_name).string());
  }
  // Hosts made for this run have keys nobody has seen: trusted on first sight unless the
  // provisioner says otherwise, and recorded in the run's own known_hosts.
  if (doc.is_object() && !doc.contains("host_keys"))
    doc["host_keys"] = "accept-new";
  if (doc.is_object() && !doc.contains("known_hosts"))
    doc["known_hosts"] = (run_dir_ / "provisioned_known_hosts").string();
  auto inv = parse_inventory(doc, "backend.provisioner.create's output", run_dir_);
  inv.source = run_dir_ / hosts_name;
  if (inv.hosts.size() < count)
    throw user_error("the provisioner's create command printed " +
                     std::to_string(inv.hosts.size()) + " hosts, and " + std::to_string(count) +
                     " were asked for: check backend.provisioner.create");
  return inv;
}

std::string provisioned_hosts::destroy() noexcept {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!created_)
    return {};
  created_ = false;
  try {
    const auto record_file = run_dir_ / record_name;
    auto why = destroy_recorded(record_file, json::parse(std::ifstream{record_file}));
    if (!why.empty())
      spdlog::error("{}", why);
    return why;
  } catch (const std::exception& e) {
    spdlog::error("destroying the provisioned hosts: {}", e.what());
    return e.what();
  }
}

std::vector<std::string> collect_fleet_garbage(const fs::path& root, bool dry_run) {
  std::vector<fs::path> records;
  std::error_code ec;
  if (fs::exists(root / record_name, ec))
    records.push_back(root / record_name);
  for (fs::recursive_directory_iterator it{root, ec}, end; !ec && it != end; it.increment(ec)) {
    if (it.depth() >= 2)
      it.disable_recursion_pending();
    if (it->path().filename() == record_name && it->path() != root / record_name)
      records.push_back(it->path());
  }
  std::sort(records.begin(), records.end());
  std::vector<std::string> out;
  for (const auto& f : records) {
    json rec;
    try {
      rec = json::parse(std::ifstream{f});
    } catch (const std::exception&) {
      out.push_back(f.string() + ": not a provisioner record (unreadable JSON): left as it is");
      continue;
    }
    if (rec.value("destroyed", false))
      continue;
    const auto pid = static_cast<pid_t>(rec.value("orchestrator_pid", 0));
    const bool alive = pid > 0 && start_ticks(pid) == rec.value("orchestrator_start", "") &&
                       !start_ticks(pid).empty();
    const bool expired = rec.value("expires_at", int64_t{0}) <= unix_now();
    if (alive && !expired) {
      out.push_back(f.string() + ": in use by troupe (PID " + std::to_string(pid) +
                    ") until its time-to-live ends: left as it is");
      continue;
    }
    const std::string why = alive ? "its time-to-live passed" : "its orchestrator is gone";
    if (dry_run) {
      out.push_back(f.string() + ": would destroy its hosts (" + why + ")");
      continue;
    }
    auto failed = destroy_recorded(f, rec);
    out.push_back(f.string() +
                  (failed.empty() ? ": destroyed its hosts (" + why + ")" : ": " + failed));
  }
  if (out.empty())
    out.push_back("no provisioned hosts left to destroy under " + root.string());
  return out;
}

} // namespace troupe::backends::ssh
