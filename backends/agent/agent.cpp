#include "backends/agent/agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::milliseconds;

void log_line(const std::string& text) {
  std::fprintf(stderr, "troupe agent (pid %d): %s\n", static_cast<int>(::getpid()), text.c_str());
  std::fflush(stderr);
}

// -- constructors ---------------------------------------------------------------

host_agent::host_agent(agent_options o)
  : opts_(o)
  , sup_(std::make_unique<local::supervisor>()) {
  register_process_ops();
  register_fabric_ops();
  register_watch_ops();
  register_log_ops();
  register_netns_ops();
  register_tunnel_ops();
}

host_agent::~host_agent() {
  shutdown();
  // Its thread sends through this agent's stream: ended before the members it uses go.
  if (logs_)
    logs_->stop();
}

void host_agent::stop() noexcept { stop_.signal(); }

void host_agent::log(const std::string& text) const {
  if (opts_.log_to_stderr)
    log_line(text);
}

// -- serving --------------------------------------------------------------------

int host_agent::serve(int in_fd, int out_fd) {
  out_fd_ = out_fd;
  frame_reader reader;
  int code = 0;
  try {
    std::optional<json> first = read_frame(in_fd, reader);
    auto why = first ? check_hello(*first, "the orchestrator")
                     : std::string("the orchestrator closed the stream before its hello");
    if (why.empty() && !opts_.token.empty() && first->value("token", std::string{}) != opts_.token)
      why = "the orchestrator's token does not match this agent's --token-file";
    if (why.empty() && field_or<std::string>(*first, "role", "orchestrator") != "orchestrator")
      why = "a reverse tunnel's hello came before any orchestrator's: nothing to tunnel to";
    if (!why.empty()) {
      log(why);
      send(error_message(why));
      shutdown();
      std::lock_guard<std::mutex> guard{out_mutex_};
      out_fd_ = -1;
      return 2;
    }
    auto hello = hello_message();
    hello["pid"] = ::getpid();
    // What this agent offers beyond version 1's ops (docs/agent-protocol.md, "Features").
    hello["features"] = json::array({"watch", "log_counts", "netns", "tunnels"});
    if (tunnel_listen_fd_ >= 0)
      tunnels_->accept_on(tunnel_listen_fd_, opts_.token);
    send(hello);
    for (;;) {
      pollfd fds[2] = {{in_fd, POLLIN, 0}, {stop_.read_fd(), POLLIN, 0}};
      ::poll(fds, 2, static_cast<int>(opts_.poll_interval.count()));
      if (fds[1].revents & POLLIN) {
        log("asked to stop: stopping every node and relay");
        break;
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!read_some(in_fd, reader)) {
          log("the orchestrator went away (end of stream): stopping every node and relay");
          break;
        }
        while (auto msg = reader.next())
          dispatch(*msg);
      }
      publish_changes();
      reap_workers(false);
    }
  } catch (const protocol_error& e) {
    log(std::string("the stream broke: ") + e.what() + "; stopping every node and relay");
    send(error_message(e.what()));
    code = 1;
  }
  shutdown();
  // The caller closes the stream after this returns: nothing may be written to the number
  // afterwards (it may name another file by then).
  std::lock_guard<std::mutex> guard{out_mutex_};
  out_fd_ = -1;
  return code;
}

void host_agent::dispatch(const json& msg) {
  if (type_of(msg) != "request") {
    log("ignored a frame of type \"" + type_of(msg) + "\" (only requests are served)");
    return;
  }
  auto id_it = msg.find("id");
  if (id_it == msg.end() || !id_it->is_number_unsigned())
    throw protocol_error("a request without an integer id >= 0 cannot be answered");
  const auto id = id_it->get<uint64_t>();
  const auto name = field_or<std::string>(msg, "op", "");
  auto it = ops_.find(name);
  if (it == ops_.end()) {
    send(reply_error(id, "this agent has no op \"" + name + "\""));
    return;
  }
  const json args = msg.contains("args") ? msg["args"] : json::object();
  if (!it->second.waits) {
    run_request(id, name, it->second, args);
    return;
  }
  std::lock_guard<std::mutex> guard{workers_mutex_};
  if (workers_.size() >= opts_.requests_in_flight_max) {
    send(reply_error(id, "the agent has " + std::to_string(workers_.size()) +
                           " requests in flight already, its limit"));
    return;
  }
  auto done = std::make_shared<bool>(false);
  const op& o = it->second;
  workers_.emplace_back(std::thread([this, id, name, &o, args, done] {
                          run_request(id, name, o, args);
                          std::lock_guard<std::mutex> g{workers_mutex_};
                          *done = true;
                        }),
                        done);
}

void host_agent::run_request(uint64_t id, const std::string& name, const op& o, const json& args) {
  json reply;
  try {
    reply = reply_ok(id, o.run(args));
  } catch (const protocol_error& e) {
    reply = reply_error(id, "bad arguments to " + name + ": " + e.what());
  } catch (const std::exception& e) {
    reply = reply_error(id, e.what());
  }
  // The state changes this request made reach the orchestrator before its reply.
  publish_changes();
  send(reply);
}

void host_agent::send(const json& msg) {
  auto bytes = encode_frame(msg);
  std::lock_guard<std::mutex> guard{out_mutex_};
  write_locked(bytes);
}

void host_agent::write_locked(const std::string& bytes) {
  if (out_broken_ || out_fd_ < 0)
    return;
  if (!write_all(out_fd_, bytes)) {
    out_broken_ = true;
    stop(); // a broken pipe is the orchestrator going away too
  }
}

void host_agent::publish_changes() {
  // Under one lock from the look to the write: a reply sent after this returns cannot pass
  // the events of the changes it saw.
  std::lock_guard<std::mutex> guard{out_mutex_};
  const auto n = sup_->size();
  published_.resize(n, {local::process_state::idle, -1});
  for (size_t slot = 0; slot < n; ++slot) {
    const auto st = sup_->state(slot);
    const auto pid = sup_->pid(slot);
    auto& [old_st, old_pid] = published_[slot];
    if (st == old_st && pid == old_pid)
      continue;
    json e{{"slot", slot}, {"id", sup_->options(slot).id}, {"pid", pid}};
    using local::process_state;
    std::string name;
    if (st == process_state::running)
      name = old_st == process_state::paused && pid == old_pid ? "node_resumed" : "node_started";
    else if (st == process_state::paused)
      name = "node_paused";
    else if (st == process_state::exited)
      name = "node_exited";
    if (name == "node_exited")
      e["status"] = sup_->exit_description(slot);
    old_st = st;
    old_pid = pid;
    if (!name.empty())
      write_locked(encode_frame(event_message(name, e)));
  }
}

void host_agent::reap_workers(bool all) {
  std::list<std::pair<std::thread, std::shared_ptr<bool>>> finished;
  {
    std::lock_guard<std::mutex> guard{workers_mutex_};
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (all || *it->second) {
        finished.splice(finished.end(), workers_, it++);
      } else {
        ++it;
      }
    }
  }
  for (auto& w : finished)
    w.first.join();
}

void host_agent::shutdown() noexcept {
  try {
    if (watcher_)
      watcher_->clear();
    if (logs_)
      logs_->clear();
  } catch (...) {
  }
  reap_workers(true);
  // The commands that used them are the nodes' neighbours: their tunnels end first.
  if (tunnels_)
    tunnels_->close();
  milliseconds grace{0};
  {
    std::lock_guard<std::mutex> guard{state_mutex_};
    for (auto g : grace_)
      grace = std::max(grace, g);
  }
  if (!sup_->live_pids().empty())
    sup_->stop_all(grace);
  try {
    publish_changes();
  } catch (...) {
  }
  if (fabric_)
    fabric_->stop();
  // After the nodes in them stopped.
  if (netns_)
    netns_->remove();
}

} // namespace troupe::backends::agent
