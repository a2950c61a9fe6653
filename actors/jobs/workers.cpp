#include "actors/jobs/workers.hpp"

#include "actors/errors.hpp"
#include "actors/jobs/http_server.hpp"
#include "actors/jobs/service.hpp"

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace troupe::jobs {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

} // namespace

std::string expand_command(const std::string& tmpl, const task& t) {
  const auto payload = nlohmann::json::parse(t.payload, nullptr, false);
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    const auto close = tmpl.find('}', i);
    if (close == std::string::npos) {
      out += tmpl.substr(i);
      break;
    }
    const std::string name = tmpl.substr(i + 1, close - i - 1);
    std::optional<std::string> value;
    if (name == "id")
      value = std::to_string(t.id);
    else if (name == "type")
      value = t.type;
    else if (name == "key")
      value = t.key ? std::to_string(*t.key) : "";
    else if (name == "phase")
      value = std::string(to_string(t.which));
    else if (name == "attempt")
      value = std::to_string(t.attempt);
    else if (name == "payload")
      value = t.payload;
    else if (name.rfind("payload.", 0) == 0 && payload.is_object()) {
      auto it = payload.find(name.substr(8));
      if (it != payload.end())
        value = it->is_string() ? it->get<std::string>() : it->dump();
      else
        value = "";
    }
    if (!value) {
      out += tmpl[i++]; // not a placeholder (e.g. shell ${X} or JSON): keep the brace, go on
      continue;
    }
    out += shell_quote(*value);
    i = close + 1;
  }
  return out;
}

command_output run_command(const std::string& command, time_ms timeout_ms,
                           size_t stdout_bytes_max) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe() failed");
  const pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
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
  out.exit_code = timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (out.stdout_text.size() > stdout_bytes_max)
    out.stdout_text.resize(stdout_bytes_max);
  return out;
}

std::function<work_result(const task&)> command_worker(std::string tmpl, time_ms timeout_ms) {
  return [tmpl = std::move(tmpl), timeout_ms](const task& t) {
    const auto out = run_command(expand_command(tmpl, t), timeout_ms);
    work_result r;
    auto parsed = nlohmann::json::parse(out.stdout_text, nullptr, false);
    nlohmann::json result = {
      {"exit_code", out.exit_code},
      {"stdout", parsed.is_discarded() ? nlohmann::json(out.stdout_text) : parsed}};
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

size_t run_remote_worker(const remote_worker_options& o,
                         const std::function<work_result(const task&)>& work) {
  auto [host, port] = parse_url(o.url);
  httplib::Client c(host, port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  c.set_connection_timeout(5);
  c.set_read_timeout(30);
  // Every request is retried on network errors with doubling backoff, at most 10 times:
  // a restarting server is waited for, a dead one ends the worker.
  auto post = [&](const std::string& path, const nlohmann::json& body) {
    time_ms backoff = 100;
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (auto r = c.Post(path.c_str(), body.dump(), "application/json"))
        return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min<time_ms>(backoff * 2, 5000);
    }
    throw user_error("the job server at " + o.url + " stopped answering: check it is running");
  };
  size_t done = 0;
  time_ms idle_since = wall_now_ms();
  while (!(o.should_stop && o.should_stop()) && (o.jobs_max == 0 || done < o.jobs_max)) {
    nlohmann::json claim = {{"worker", o.worker}};
    if (!o.type.empty())
      claim["type"] = o.type;
    auto r = post("/v1/claim", claim);
    if (r->status == 204) {
      if (o.idle_exit_ms > 0 && wall_now_ms() - idle_since > o.idle_exit_ms)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(o.idle_poll_ms));
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
    const auto res = work(t);
    const std::string base = "/v1/jobs/" + std::to_string(t.id) + "/";
    if (t.which == phase::process) {
      if (res.what == work_result::kind::ok)
        post(base + "complete",
             {{"worker", o.worker}, {"result", nlohmann::json::parse(res.result, nullptr, false)}});
      else
        post(base + "fail", {{"worker", o.worker}, {"error", res.detail}});
    } else {
      const char* v = res.what == work_result::kind::ok        ? "pass"
                      : res.what == work_result::kind::pending ? "pending"
                                                               : "reject";
      post(base + "verify", {{"worker", o.worker}, {"verdict", v}, {"detail", res.detail}});
    }
    ++done;
  }
  return done;
}

} // namespace troupe::jobs
