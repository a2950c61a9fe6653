// The ops a host_agent serves (docs/agent-protocol.md, "Requests and replies"): one table
// entry each, calling the supervisor, the fabric, a probe, the watcher or the log counter.

#include <algorithm>

#include "backends/agent/agent.hpp"
#include "backends/agent/clock_skew.hpp"
#include "backends/agent/command_runner.hpp"
#include "backends/agent/payloads.hpp"
#include "backends/agent/probe.hpp"
#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

milliseconds ms_arg(const json& args, const char* key, milliseconds fallback) {
  auto it = args.find(key);
  if (it == args.end())
    return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    throw protocol_error(std::string("field \"") + key + "\" must be an integer >= 0");
  return milliseconds(it->get<int64_t>());
}

} // namespace

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
  // A node-side command (the `commands` workload): waits on its own thread for the command.
  ops_["run_command"] = {
    [](const json& args) {
      command_spec c;
      auto it = args.find("command");
      if (it == args.end() || !it->is_string() || it->get<std::string>().empty())
        throw protocol_error("field \"command\" must be a non-empty string");
      c.command = *it;
      c.timeout = ms_arg(args, "timeout_ms", c.timeout);
      c.tail_lines = static_cast<size_t>(field_or<int64_t>(args, "tail_lines", 20));
      c.cwd = field_or<std::string>(args, "cwd", "");
      if (auto e = args.find("env"); e != args.end() && e->is_object())
        for (auto kv = e->begin(); kv != e->end(); ++kv)
          if (kv.value().is_string())
            c.env.emplace_back(kv.key(), kv.value().get<std::string>());
      auto o = run_command(c);
      return json{{"exit_code", o.exit_code},
                  {"timed_out", o.timed_out},
                  {"status", o.status},
                  {"tail", o.tail},
                  {"seconds", o.seconds}};
    },
    true};
  // A node's libfaketime control file, replaced atomically (clock_skew.hpp): by the agent
  // itself, since a container's image has no shell to run a command with.
  ops_["write_clock"] = {[](const json& args) {
    auto file = field_or<std::string>(args, "file", "");
    if (file.empty() || file[0] != '/')
      throw protocol_error("field \"file\" must be an absolute path");
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path{file}.parent_path(), ec);
    node_clock::write_here(file, field_or<std::string>(args, "line", ""));
    return json::object();
  }};
  ops_["probe"] = {
    [](const json& args) {
      probe_request r;
      r.kind = field_or<std::string>(args, "kind", "");
      r.address = field_or<std::string>(args, "address", r.address);
      r.port = field_or<uint16_t>(args, "port", 0);
      r.path = field_or<std::string>(args, "path", r.path);
      r.expect = field_or<std::string>(args, "expect", "");
      auto why = probe_once(r);
      return why.empty() ? json{{"ready", true}} : json{{"ready", false}, {"error", why}};
    },
    true};
  ops_["log_tail"] = {[this](const json& args) {
    if (args.contains("bytes")) {
      // A reply is one frame: the tail is bounded well below frame_bytes_max.
      auto bytes = std::min<int64_t>(ms_arg(args, "bytes", milliseconds(0)).count(), 1 << 20);
      return json{{"text", sup_->log_tail_bytes(slot_arg(args), static_cast<size_t>(bytes))}};
    }
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
      auto v = field_or<int64_t>(args, key, fallback);
      if (v < 0 || v > 65535)
        throw protocol_error(std::string("field \"") + key + "\" must be a port (0 to 65535)");
      return static_cast<uint16_t>(v);
    };
    std::lock_guard<std::mutex> guard{state_mutex_};
    if (!fabric_ && args.contains("seed"))
      opts_.fabric_seed = field<uint64_t>(args, "seed");
    auto address = [&](const char* key) {
      auto v = field_or<int64_t>(args, key, fabric::loopback);
      if (v < 0 || v > int64_t{0xffffffff})
        throw protocol_error(std::string("field \"") + key +
                             "\" must be an IPv4 address as a number (0 to 4294967295)");
      return static_cast<uint32_t>(v);
    };
    auto& f = fabric_for_setup();
    return json{
      {"port", f.add_relay(field<std::string>(args, "from"), field<std::string>(args, "to"),
                           port("target_port", -1), port("listen_port", 0), address("listen_addr"),
                           address("target_addr"))}};
  }};
  ops_["retarget_relays"] = {[this](const json& args) {
    const auto addr = field<int64_t>(args, "target_addr");
    if (addr < 0 || addr > int64_t{0xffffffff})
      throw protocol_error(
        "field \"target_addr\" must be an IPv4 address as a number (0 to 4294967295)");
    std::lock_guard<std::mutex> guard{state_mutex_};
    const size_t n =
      fabric_ ? fabric_->retarget(field<std::string>(args, "to"), static_cast<uint32_t>(addr)) : 0;
    return json{{"relays", n}};
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

// -- ops: summaries --------------------------------------------------------------

void host_agent::register_watch_ops() {
  watcher_ = std::make_unique<watcher>(
    [this](const json& fields) { send(event_message("summary", fields)); },
    [this](size_t slot) { return sup_->state(slot) == local::process_state::running; });
  ops_["watch"] = {[this](const json& args) {
    watch_spec s;
    s.slot = slot_arg(args);
    s.id = sup_->options(s.slot).id;
    auto it = args.find("adapter");
    if (it == args.end() || !it->is_object())
      throw protocol_error("field \"adapter\" must be the node's adapter settings (an object)");
    s.adapter = *it;
    s.interval = ms_arg(args, "interval_ms", s.interval);
    s.timeout = ms_arg(args, "timeout_ms", s.timeout);
    auto depth = field_or<int64_t>(args, "finality_depth", 0);
    if (depth < 0)
      throw protocol_error("field \"finality_depth\" must be an integer >= 0");
    s.finality_depth = static_cast<uint64_t>(depth);
    if (s.interval < milliseconds(10))
      throw protocol_error("field \"interval_ms\" must be at least 10");
    watcher_->add(std::move(s));
    return json::object();
  }};
  ops_["unwatch"] = {[this](const json& args) {
    watcher_->remove(slot_arg(args));
    return json::object();
  }};
  ops_["watch_stats"] = {[this](const json&) { return json{{"watches", watcher_->stats()}}; }};
}

// -- ops: log counts --------------------------------------------------------------

void host_agent::register_log_ops() {
  logs_ = std::make_unique<log_counter>(
    [this](const json& fields) { send(event_message("log_counts", fields)); });
  // Reads the node's log up to now (a long log takes a while): on a thread of its own.
  ops_["log_counts"] = {[this](const json& args) {
                          const auto slot = slot_arg(args);
                          std::vector<log_pattern_spec> specs;
                          for (const auto& p : field_or<json>(args, "patterns", json::array())) {
                            log_pattern_spec s;
                            s.pattern = field<std::string>(p, "pattern");
                            s.ignore_case = field_or<bool>(p, "ignore_case", s.ignore_case);
                            specs.push_back(std::move(s));
                          }
                          if (args.contains("interval_ms")) {
                            auto every = ms_arg(args, "interval_ms", milliseconds(1000));
                            if (every < milliseconds(10))
                              throw protocol_error("field \"interval_ms\" must be at least 10");
                            logs_->set_interval(every);
                          }
                          const auto& o = sup_->options(slot);
                          if (!specs.empty())
                            logs_->count(slot, o.id, o.log_path, specs);
                          return logs_->report(slot, specs);
                        },
                        true};
}

// -- ops: reverse tunnels ------------------------------------------------------

void host_agent::register_tunnel_ops() {
  tunnels_ = std::make_unique<reverse_tunnels>();
  ops_["tunnel_listen"] = {[this](const json& args) {
    const auto to_port = field<int64_t>(args, "to_port");
    if (to_port < 1 || to_port > 65535)
      throw protocol_error("field \"to_port\" must be a port number (1 to 65535)");
    return json{{"port", tunnels_->listen(static_cast<uint16_t>(to_port))}};
  }};
  ops_["tunnel_stats"] = {[this](const json&) { return tunnels_->stats(); }};
}

} // namespace troupe::backends::agent
