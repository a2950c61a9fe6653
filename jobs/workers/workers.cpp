#include "jobs/workers/workers.hpp"

#include "actors/errors.hpp"
#include "actors/placeholders.hpp"
#include "actors/url.hpp"
#include "jobs/bounded_json.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/py_format.hpp"

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace troupe::jobs {

namespace {

/// Thrown out of a retry loop when the worker is told to stop: it ends, it did not fail.
struct stopped_while_retrying {};

/// Sleeps `ms` in short slices; throws stopped_while_retrying as soon as `should_stop` says so.
void backoff_sleep(time_ms ms, const std::function<bool()>& should_stop) {
  for (time_ms slept = 0; slept < ms; slept += 50) {
    if (should_stop && should_stop())
      throw stopped_while_retrying{};
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<time_ms>(50, ms - slept)));
  }
}

/// This process's environment with `extra` set (replacing variables of the same name).
std::vector<std::string>
environment_with(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : extra)
      replaced = replaced || k == name;
    if (!replaced)
      env.push_back(entry);
  }
  for (const auto& [k, v] : extra)
    env.push_back(k + "=" + v);
  return env;
}

std::string payload_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
}

bool task_placeholder(const std::string& name) {
  return name == "id" || name == "type" || name == "key" || name == "phase" || name == "attempt" ||
         name == "payload" || name.rfind("payload.", 0) == 0;
}

} // namespace

void check_command_template(const std::string& tmpl, const std::string& what) {
  check_shell_template(tmpl, task_placeholder, what);
}

void check_replay_command_template(const std::string& tmpl, const std::string& what) {
  static const char* fields[] = {"job_id",
                                 "replay_slice_id",
                                 "snapshot_path",
                                 "storage_type",
                                 "leap_version",
                                 "start_block_num",
                                 "end_block_num",
                                 "status",
                                 "last_block_processed",
                                 "start_time",
                                 "end_time",
                                 "expected_integrity_hash",
                                 "actual_integrity_hash"};
  check_shell_template(
    tmpl,
    [](const std::string& n) {
      for (const char* f : fields)
        if (n == f)
          return true;
      return false;
    },
    what);
}

shell_command expand_command(const std::string& tmpl, const task& t) {
  const auto payload = nlohmann::json::parse(t.payload, nullptr, false);
  return expand_shell_template(tmpl, [&](const std::string& name) -> std::optional<std::string> {
    if (name == "id")
      return std::to_string(t.id);
    if (name == "type")
      return t.type;
    if (name == "key")
      return t.key ? std::to_string(*t.key) : "";
    if (name == "phase")
      return std::string(to_string(t.which));
    if (name == "attempt")
      return std::to_string(t.attempt);
    if (name == "payload")
      return t.payload;
    if (name.rfind("payload.", 0) == 0) {
      if (!payload.is_object())
        return "";
      auto it = payload.find(name.substr(8));
      return it != payload.end() ? payload_text(*it) : "";
    }
    return std::nullopt;
  });
}

shell_command expand_fields(const std::string& tmpl, const nlohmann::json& fields) {
  return expand_shell_template(tmpl, [&](const std::string& name) -> std::optional<std::string> {
    if (!fields.is_object())
      return std::nullopt;
    auto it = fields.find(name);
    if (it == fields.end())
      return std::nullopt;
    return payload_text(*it);
  });
}

// -- running commands ---------------------------------------------------------------

void running_commands::kill_all() noexcept {
  std::lock_guard<std::mutex> lk(mutex_);
  stopped_ = true;
  for (int g : groups_)
    ::kill(-g, SIGKILL); // only process groups this owner started
}

bool running_commands::stopped() const noexcept {
  std::lock_guard<std::mutex> lk(mutex_);
  return stopped_;
}

bool running_commands::add(int pgid) {
  std::lock_guard<std::mutex> lk(mutex_);
  if (stopped_)
    return false;
  groups_.insert(pgid);
  return true;
}

void running_commands::remove(int pgid) {
  std::lock_guard<std::mutex> lk(mutex_);
  groups_.erase(pgid);
}

command_output run_command(const shell_command& command, time_ms timeout_ms,
                           size_t stdout_bytes_max, running_commands* running) {
  // The child's environment is built before fork: after it only async-signal-safe calls.
  auto env = environment_with(command.env);
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  // Close-on-exec: a command started by another thread at the same moment must not inherit
  // this pipe, or our read would wait for that command to end too.
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe() failed");
  const pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    const char* argv[] = {"sh", "-c", command.script.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    ::_exit(127);
  }
  // Also here, not only in the child: a kill_all right after fork must find the group.
  ::setpgid(pid, pid);
  ::close(fds[1]);
  if (running && !running->add(pid))
    ::kill(-pid, SIGKILL);
  command_output out;
  const time_ms deadline = wall_now_ms() + timeout_ms;
  char buf[4096];
  bool timed_out = false;
  for (;;) {
    const time_ms left = deadline - wall_now_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<time_ms>(left, 1000))) <= 0)
      continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0)
      break;
    if (out.stdout_text.size() < stdout_bytes_max)
      out.stdout_text.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out)
    ::kill(-pid, SIGKILL); // only the process group we started
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (running)
    running->remove(pid);
  out.exit_code = timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (out.stdout_text.size() > stdout_bytes_max)
    out.stdout_text.resize(stdout_bytes_max);
  return out;
}

std::function<work_result(const task&)> command_worker(std::string tmpl, time_ms timeout_ms,
                                                       std::shared_ptr<running_commands> running,
                                                       std::string verify_tmpl) {
  check_command_template(tmpl, "command");
  check_command_template(verify_tmpl, "verify_command");
  return [tmpl = std::move(tmpl), timeout_ms, running = std::move(running),
          verify_tmpl = std::move(verify_tmpl)](const task& t) {
    const auto& chosen = t.which == phase::verify && !verify_tmpl.empty() ? verify_tmpl : tmpl;
    const auto out =
      run_command(expand_command(chosen, t), timeout_ms, size_t{1} << 20, running.get());
    work_result r;
    // A command's output is outside input: JSON within the depth limit, else kept as text.
    std::string why;
    auto parsed = parse_json_bounded(out.stdout_text, why);
    nlohmann::json result = {
      {"exit_code", out.exit_code},
      {"stdout", parsed ? std::move(*parsed) : nlohmann::json(out.stdout_text)}};
    r.result = result.dump();
    if (t.which == phase::process) {
      r.what = out.exit_code == 0 ? work_result::kind::ok : work_result::kind::fail;
      r.detail = out.exit_code == -1 ? "command timed out"
                                     : "command exited with " + std::to_string(out.exit_code);
    } else {
      r.what = out.exit_code == 0    ? work_result::kind::ok
               : out.exit_code == 75 ? work_result::kind::pending
                                     : work_result::kind::reject;
      r.detail = "verify command exited with " + std::to_string(out.exit_code);
    }
    return r;
  };
}

namespace {

/// The servers of a --url list ("A,B,C"), each checked.
std::vector<std::string> server_urls(const std::string& list) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= list.size()) {
    auto to = list.find(',', from);
    if (to == std::string::npos)
      to = list.size();
    auto one = list.substr(from, to - from);
    while (!one.empty() && one.front() == ' ')
      one.erase(0, 1);
    while (!one.empty() && one.back() == ' ')
      one.pop_back();
    if (!one.empty())
      out.push_back(one);
    from = to + 1;
  }
  if (out.empty())
    throw user_error("--url is empty: give the job server as http://HOST:PORT (several, "
                     "comma-separated, to fail over between orchestrators)");
  for (const auto& u : out)
    parse_http_url(u, "--url", {true, true, false});
  return out;
}

} // namespace

size_t run_remote_worker(const remote_worker_options& o,
                         const std::function<work_result(const task&)>& work) {
  const auto urls = server_urls(o.url);
  size_t current = 0;
  std::unique_ptr<httplib::Client> client;
  auto connect = [&] {
    const auto u = parse_http_url(urls[current], "--url", {true, true, false});
    client = std::make_unique<httplib::Client>(u.host, u.port);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);
    client->set_connection_timeout(5);
    client->set_read_timeout(30);
    if (!o.token.empty())
      client->set_bearer_token_auth(o.token);
  };
  connect();
  // A request that finds no answer (or a 5xx: the orchestrator cannot reach its database)
  // goes to the next server of the list at once; after a whole turn of the list it waits,
  // with doubling backoff, at most 10 turns: a restarting server is waited for, a dead
  // campaign ends the worker. Reports are idempotent (fenced), so sending one again to
  // another orchestrator is safe.
  auto post = [&](const std::string& path, const nlohmann::json& body) {
    time_ms backoff = 100;
    const std::string text = body.dump();
    for (size_t attempt = 0; attempt < 10 * urls.size(); ++attempt) {
      auto r = client->Post(path.c_str(), text, "application/json");
      if (r && r->status < 500)
        return r;
      current = (current + 1) % urls.size();
      connect();
      if (current == 0 || urls.size() == 1) {
        backoff_sleep(backoff, o.should_stop);
        backoff = std::min<time_ms>(backoff * 2, 5000);
      }
    }
    throw user_error("the job server at " + o.url + " stopped answering: check it is running");
  };
  size_t done = 0;
  time_ms idle_since = wall_now_ms();
  try {
    while (!(o.should_stop && o.should_stop()) && (o.jobs_max == 0 || done < o.jobs_max)) {
      nlohmann::json claim = {{"worker", o.worker}};
      if (!o.type.empty())
        claim["type"] = o.type;
      auto r = post("/v1/claim", claim);
      if (r->status == 204) {
        if (o.idle_exit_ms > 0 && wall_now_ms() - idle_since > o.idle_exit_ms)
          break;
        backoff_sleep(o.idle_poll_ms, o.should_stop);
        continue;
      }
      if (r->status != 200)
        throw user_error("the job server refused a claim (" + std::to_string(r->status) +
                         "): " + r->body);
      idle_since = wall_now_ms();
      auto j = nlohmann::json::parse(r->body);
      task t;
      t.id = j["id"].get<job_id>();
      t.type = j["type"].get<std::string>();
      t.which = j["phase"] == "verify" ? phase::verify : phase::process;
      t.attempt = j["attempt"].get<int>();
      if (!j["key"].is_null())
        t.key = j["key"].get<int64_t>();
      t.payload = j["payload"].dump();
      t.result = j["result"].is_null() ? "" : j["result"].dump();
      t.fence = j.value("fence", int64_t{0});
      const auto res = work(t);
      if (o.should_stop && o.should_stop())
        break; // interrupted (its command was killed): not a failure of the job
      const std::string base = "/v1/jobs/" + std::to_string(t.id) + "/";
      int answer = 0;
      if (t.which == phase::process) {
        if (res.what == work_result::kind::ok)
          answer =
            post(base + "complete", {{"worker", o.worker},
                                     {"fence", t.fence},
                                     {"result", nlohmann::json::parse(res.result, nullptr, false)}})
              ->status;
        else
          answer =
            post(base + "fail", {{"worker", o.worker}, {"fence", t.fence}, {"error", res.detail}})
              ->status;
      } else {
        const char* v = res.what == work_result::kind::ok        ? "pass"
                        : res.what == work_result::kind::pending ? "pending"
                                                                 : "reject";
        answer =
          post(base + "verify",
               {{"worker", o.worker}, {"fence", t.fence}, {"verdict", v}, {"detail", res.detail}})
            ->status;
      }
      if (o.on_reported)
        o.on_reported(t, res, answer);
      ++done;
    }
  } catch (const stopped_while_retrying&) {
  }
  return done;
}

// -- replay hosts ----------------------------------------------------------------------

std::string integrity_hash_of(const std::string& stdout_text) {
  std::string why;
  const auto doc = parse_json_bounded(stdout_text, why).value_or(nlohmann::json());
  if (doc.is_object() && doc.contains("integrity_hash") && doc["integrity_hash"].is_string())
    return doc["integrity_hash"].get<std::string>();
  // The last non-empty line, trimmed: a replay tool prints its progress first, the hash last.
  std::string last;
  size_t from = 0;
  while (from <= stdout_text.size()) {
    auto to = stdout_text.find('\n', from);
    if (to == std::string::npos)
      to = stdout_text.size();
    auto line = stdout_text.substr(from, to - from);
    const auto b = line.find_first_not_of(" \t\r");
    const auto e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos)
      last = line.substr(b, e - b + 1);
    from = to + 1;
  }
  return last;
}

size_t run_replay_host(const replay_host_options& o) {
  check_replay_command_template(o.command, "command");
  const auto u = parse_http_url(o.url, "--url", {true, true, false});
  httplib::Client c(u.host, u.port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true); // else each POST's body waits for a delayed ACK
  c.set_connection_timeout(5);
  c.set_read_timeout(30);
  if (!o.token.empty())
    c.set_bearer_token_auth(o.token);
  const httplib::Headers json_accept = {{"Accept", "application/json"}};
  // Bounded retries on network errors, as run_remote_worker: a dead server ends the host.
  auto call = [&](const std::function<httplib::Result()>& f) {
    time_ms backoff = 100;
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (auto r = f())
        return r;
      backoff_sleep(backoff, o.should_stop);
      backoff = std::min<time_ms>(backoff * 2, 5000);
    }
    throw user_error("the replay server at " + o.url + " stopped answering: check it is running");
  };
  auto get = [&](const std::string& path) {
    return call([&] { return c.Get(path.c_str(), json_accept); });
  };
  auto post = [&](const std::string& path, const nlohmann::ordered_json& body,
                  const std::string& etag) {
    httplib::Headers h = json_accept;
    h.emplace("ETag", etag);
    return call([&] { return c.Post(path.c_str(), h, py_json_dumps(body), "application/json"); });
  };
  // GET the job, change `fields`, POST it back under its ETag; a conflict (400) re-reads.
  // Bounded: job_operations.py retries the same way. The replay face fences by the claim:
  // a job whose start_time is no longer this host's STARTED (its lease expired and another
  // host took it) is left alone, 409.
  auto update = [&](job_id id, const nlohmann::ordered_json& fields,
                    const nlohmann::ordered_json& claim_start) {
    const std::string path = "/job?jobid=" + std::to_string(id);
    for (int attempt = 0; attempt < 5; ++attempt) {
      auto got = get(path);
      if (got->status != 200)
        return got->status;
      auto job = nlohmann::ordered_json::parse(got->body);
      if (job["start_time"] != claim_start || job["status"] != "STARTED")
        return 409;
      for (const auto& [k, v] : fields.items())
        job[k] = v;
      const int code = post(path, job, got->get_header_value("ETag"))->status;
      if (code != 400)
        return code;
    }
    return 400;
  };
  size_t done = 0;
  try {
    while (!(o.should_stop && o.should_stop())) {
      auto got = get("/job?nextjob");
      if (got->status == 404) {
        backoff_sleep(o.idle_poll_ms, o.should_stop);
        continue;
      }
      if (got->status != 200)
        throw user_error("the replay server refused GET /job?nextjob (" +
                         std::to_string(got->status) + "): " + got->body);
      auto job = nlohmann::ordered_json::parse(got->body);
      const job_id id = job["job_id"].get<job_id>();
      job["status"] = "STARTED";
      if (post("/job?jobid=" + std::to_string(id), job, got->get_header_value("ETag"))->status !=
          200)
        continue; // another host took it first: ask again
      // The server stamps start_time on STARTED: with the job id it names this claim.
      auto started = get("/job?jobid=" + std::to_string(id));
      const auto claim_start = started->status == 200
                                 ? nlohmann::ordered_json::parse(started->body)["start_time"]
                                 : nlohmann::ordered_json();
      const auto out = run_command(expand_fields(o.command, nlohmann::json::parse(job.dump())),
                                   o.timeout_ms, size_t{1} << 20, o.running.get());
      if (o.should_stop && o.should_stop())
        break; // interrupted: the server's lease (if any) re-queues the job
      const std::string hash = out.exit_code == 0 ? integrity_hash_of(out.stdout_text) : "";
      nlohmann::ordered_json fields;
      if (out.exit_code == 0 && !hash.empty()) {
        fields["status"] = "COMPLETE";
        fields["last_block_processed"] = job["end_block_num"];
        fields["end_time"] = format_time(wall_now_ms());
        fields["actual_integrity_hash"] = hash;
      } else {
        fields["status"] = "ERROR";
      }
      if (update(id, fields, claim_start) == 409)
        fields["status"] = "LOST"; // fenced: another host owns the job now
      if (o.on_finished)
        o.on_finished(id, fields["status"].get<std::string>());
      ++done;
    }
  } catch (const stopped_while_retrying&) {
  }
  return done;
}

} // namespace troupe::jobs
