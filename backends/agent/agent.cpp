#include "backends/agent/agent.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "backends/agent/payloads.hpp"
#include "backends/agent/probe.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

void log_line(const std::string& text) {
  std::fprintf(stderr, "troupe agent (pid %d): %s\n", static_cast<int>(::getpid()), text.c_str());
  std::fflush(stderr);
}

milliseconds ms_arg(const json& args, const char* key, milliseconds fallback) {
  auto it = args.find(key);
  if (it == args.end())
    return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    throw protocol_error(std::string("field \"") + key + "\" must be an integer >= 0");
  return milliseconds(it->get<int64_t>());
}

} // namespace

// -- constructors ---------------------------------------------------------------

host_agent::host_agent(agent_options o)
  : opts_(o)
  , sup_(std::make_unique<local::supervisor>()) {
  if (::pipe2(stop_fds_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  register_process_ops();
  register_fabric_ops();
}

host_agent::~host_agent() {
  shutdown();
  ::close(stop_fds_[0]);
  ::close(stop_fds_[1]);
}

void host_agent::stop() noexcept {
  char b = 1;
  [[maybe_unused]] auto n = ::write(stop_fds_[1], &b, 1);
}

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
    if (!why.empty()) {
      log(why);
      send(error_message(why));
      shutdown();
      return 2;
    }
    auto hello = hello_message();
    hello["pid"] = ::getpid();
    send(hello);
    for (;;) {
      pollfd fds[2] = {{in_fd, POLLIN, 0}, {stop_fds_[0], POLLIN, 0}};
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
  const auto name = msg.value("op", std::string{});
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
  reap_workers(true);
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
}

// -- ops: node processes --------------------------------------------------------

size_t host_agent::slot_arg(const json& args) const {
  auto it = args.find("slot");
  if (it == args.end() || !it->is_number_unsigned() || it->get<size_t>() >= sup_->size())
    throw protocol_error("field \"slot\" must name a node added before (0 to " +
                         std::to_string(sup_->size()) + ", exclusive)");
  return it->get<size_t>();
}

void host_agent::register_process_ops() {
  auto ack = [](bool ok, const std::string& why) {
    if (!ok)
      throw std::runtime_error(why);
    return json::object();
  };
  ops_["ping"] = {[](const json&) { return json::object(); }};
  ops_["add_node"] = {[this](const json& args) {
    auto spec = node_spec_from_json(args);
    std::lock_guard<std::mutex> guard{state_mutex_};
    grace_.push_back(spec.stop_grace);
    return json{{"slot", sup_->add(std::move(spec.process))}};
  }};
  ops_["start"] = {[this](const json& args) {
                     sup_->start(slot_arg(args));
                     return json{{"pid", sup_->pid(slot_arg(args))}};
                   },
                   true};
  ops_["stop"] = {[this, ack](const json& args) {
                    auto slot = slot_arg(args);
                    milliseconds grace;
                    {
                      std::lock_guard<std::mutex> guard{state_mutex_};
                      grace = grace_.at(slot);
                    }
                    return ack(sup_->stop(slot, ms_arg(args, "grace_ms", grace)),
                               sup_->options(slot).id + " did not exit even after SIGKILL");
                  },
                  true};
  ops_["kill"] = {[this, ack](const json& args) {
                    auto slot = slot_arg(args);
                    return ack(sup_->kill(slot),
                               sup_->options(slot).id + " did not exit after SIGKILL");
                  },
                  true};
  ops_["pause"] = {[this, ack](const json& args) {
    auto slot = slot_arg(args);
    return ack(sup_->pause(slot), sup_->options(slot).id + " is not running");
  }};
  ops_["resume"] = {[this, ack](const json& args) {
    auto slot = slot_arg(args);
    return ack(sup_->resume(slot), sup_->options(slot).id + " is not paused or running");
  }};
  ops_["stop_all"] = {[this](const json& args) {
                        sup_->stop_all(ms_arg(args, "grace_ms", milliseconds(0)));
                        return json::object();
                      },
                      true};
  ops_["wait_log_drained"] = {[this](const json& args) {
                                sup_->wait_log_drained(
                                  slot_arg(args), ms_arg(args, "timeout_ms", milliseconds(1000)));
                                return json::object();
                              },
                              true};
  // Waits up to a second (an HTTP read timeout): on a thread of its own.
  ops_["probe"] = {
    [](const json& args) {
      probe_request r;
      r.kind = args.value("kind", std::string{});
      r.port = args.value("port", uint16_t{0});
      r.path = args.value("path", r.path);
      r.expect = args.value("expect", std::string{});
      auto why = probe_once(r);
      return why.empty() ? json{{"ready", true}} : json{{"ready", false}, {"error", why}};
    },
    true};
  ops_["log_tail"] = {[this](const json& args) {
    auto lines = ms_arg(args, "lines", milliseconds(8)).count();
    return json{{"text", sup_->log_tail(slot_arg(args), static_cast<size_t>(lines))}};
  }};
}

// -- ops: link fabric -----------------------------------------------------------

fabric& host_agent::fabric_for_setup() {
  if (!fabric_) {
    fabric_options fo;
    fo.seed = opts_.fabric_seed;
    fabric_ = std::make_unique<fabric>(fo);
  }
  return *fabric_;
}

void host_agent::register_fabric_ops() {
  ops_["add_relay"] = {[this](const json& args) {
    auto port = [&](const char* key, int64_t fallback) {
      auto v = args.value(key, fallback);
      if (v < 0 || v > 65535)
        throw protocol_error(std::string("field \"") + key + "\" must be a port (0 to 65535)");
      return static_cast<uint16_t>(v);
    };
    std::lock_guard<std::mutex> guard{state_mutex_};
    if (!fabric_ && args.contains("seed"))
      opts_.fabric_seed = args["seed"].get<uint64_t>();
    auto& f = fabric_for_setup();
    return json{
      {"port", f.add_relay(args.at("from").get<std::string>(), args.at("to").get<std::string>(),
                           port("target_port", -1), port("listen_port", 0))}};
  }};
  ops_["fabric_start"] = {[this](const json&) {
    std::lock_guard<std::mutex> guard{state_mutex_};
    fabric_for_setup().start();
    return json::object();
  }};
  ops_["fabric_stop"] = {[this](const json&) {
    if (fabric_)
      fabric_->stop();
    return json::object();
  }};
  ops_["apply"] = {[this](const json& args) {
    std::vector<link_change> changes;
    for (const auto& c : args.at("changes"))
      changes.push_back(link_change_from_json(c));
    if (fabric_)
      fabric_->apply(changes);
    return json::object();
  }};
  ops_["heal_all"] = {[this](const json&) {
    if (fabric_)
      fabric_->heal_all();
    return json::object();
  }};
  ops_["fabric_stats"] = {[this](const json&) {
    json links = json::array();
    if (!fabric_)
      return json{{"relays", 0}, {"links", links}};
    for (const auto& s : fabric_->stats())
      links.push_back(to_json(s));
    return json{{"relays", fabric_->relay_count()},
                {"open_connections", fabric_->open_connections()},
                {"links", links}};
  }};
}

// -- troupe agent --stdio -------------------------------------------------------

namespace {

host_agent* signalled_agent = nullptr;

void on_stop_signal(int) {
  if (signalled_agent)
    signalled_agent->stop();
  else
    ::_exit(0); // nothing started yet: nothing to stop
}

/// Stderr to `log_file` (when given); false (after saying why) when it cannot be opened.
bool redirect_log(const std::string& log_file) {
  if (log_file.empty())
    return true;
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "troupe: cannot open the agent log %s: %s; pass a writable path\n",
                 log_file.c_str(), std::strerror(errno));
    return false;
  }
  ::dup2(fd, 2);
  ::close(fd);
  return true;
}

void on_signals_stop() {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
}

} // namespace

int run_stdio_agent(const std::string& log_file) {
  // Frames own stdout: anything else that writes to fd 1 (a library, a stray print) goes to
  // the log instead.
  int out_fd = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (out_fd < 0) {
    log_line(std::string("cannot duplicate stdout: ") + std::strerror(errno));
    return 1;
  }
  if (!redirect_log(log_file))
    return 2;
  ::dup2(2, 1);
  // The orchestrator's death is this agent's cue to stop: SIGTERM (not SIGKILL), so that
  // the nodes are stopped in order rather than left to their own parent-death signal.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() == 1) {
    log_line("started without an orchestrator (the parent is gone already)");
    return 1;
  }
  on_signals_stop();
  host_agent a;
  signalled_agent = &a;
  log_line("serving on stdio");
  int code = a.serve(0, out_fd);
  signalled_agent = nullptr;
  log_line("stopped (every node and relay it started)");
  return code;
}

// -- troupe agent --listen -----------------------------------------------------

namespace {

/// The token in `file` (its first line, without trailing space): "" when it cannot be read.
std::string read_token(const std::string& file) {
  std::ifstream in{file};
  std::string token;
  std::getline(in, token);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
    token.pop_back();
  return token;
}

/// A socket listening on `host:port`, or -1 after saying why.
int listen_on(const std::string& host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "troupe: --listen %s:%u: %s is not an IPv4 address\n", host.c_str(), port,
                 host.c_str());
    return -1;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 4) != 0) {
    std::fprintf(stderr, "troupe: cannot listen on %s:%u: %s; choose a free port\n", host.c_str(),
                 port, std::strerror(errno));
    if (fd >= 0)
      ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

int run_listening_agent(const std::string& host, uint16_t port, const std::string& token_file,
                        const std::string& log_file) {
  agent_options o;
  o.token = token_file.empty() ? std::string{} : read_token(token_file);
  if (o.token.empty()) {
    std::fprintf(stderr,
                 "troupe: --listen needs --token-file with a token in it (%s): anyone who can "
                 "reach the port could run programs otherwise\n",
                 token_file.empty() ? "none given" : token_file.c_str());
    return 2;
  }
  if (!redirect_log(log_file))
    return 2;
  int lfd = listen_on(host, port);
  if (lfd < 0)
    return 2;
  on_signals_stop();
  log_line("listening on " + host + ":" + std::to_string(port));
  for (;;) {
    int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR)
        continue;
      log_line(std::string("accept failed: ") + std::strerror(errno));
      ::close(lfd);
      return 1;
    }
    // A peer that connects and says nothing cannot hold the port: its hello is due in 10 s.
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int code;
    {
      host_agent a{o};
      signalled_agent = &a;
      code = a.serve(fd, fd);
      signalled_agent = nullptr;
    }
    ::close(fd);
    // A refused hello (wrong token or version) started nothing: wait for the next one.
    if (code != 2) {
      ::close(lfd);
      log_line("stopped (every node and relay it started)");
      return code;
    }
  }
}

} // namespace troupe::backends::agent
