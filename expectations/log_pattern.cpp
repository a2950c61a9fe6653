#include "expectations/log_pattern.hpp"

#include <caf/all.hpp>

#include "actors/echo.hpp"
#include "actors/log_scan.hpp"
#include "actors/node_protocol.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"

namespace troupe::expectations {

namespace log_pattern_detail {

using nlohmann::json;

struct params {
  std::string pattern;
  bool ignore_case = true;
  std::string nodes = "all";
  int64_t max_matches = 0;
  std::string missing_logs = "fail";
  log_regex re; ///< compiled at validation (RE2: linear time in the log's bytes)
};

params read(params_reader& r, const scenario& s) {
  params p;
  p.pattern = r.string("pattern", "", true);
  r.describe_key("pattern", {{"maxLength", log_pattern_chars_max}});
  p.ignore_case = r.boolean("ignore_case", p.ignore_case);
  p.nodes = r.string("nodes", p.nodes);
  check_selector(r, "nodes", p.nodes, s);
  p.max_matches = r.integer("max_matches", p.max_matches, 0, INT64_MAX);
  p.missing_logs = r.one_of("missing_logs", {"fail", "skip"}, p.missing_logs);
  if (r.has("pattern") && r.object()["pattern"].is_string()) {
    std::string why;
    p.re = compile_log_pattern(p.pattern, p.ignore_case, why);
    if (!p.re)
      r.error("pattern", why);
  }
  return p;
}

/// Where each node's count came from: its report when counted where it runs, else the file.
struct node_count {
  log_scan_result scan;
  bool by_agent = false;
};

node_count count_of(const params& p, const run_context& ctx, const node_handle& n,
                    const log_count_report& r) {
  if (r.counted)
    return {r.scan, true};
  return {scan_node_logs(node_log_path(ctx.run_dir, n.id), p.re), false};
}

std::string counted_by(size_t by_agent, size_t by_file) {
  if (by_agent > 0 && by_file > 0)
    return "agent and file";
  return by_agent > 0 ? "agent" : "file";
}

/// `reports`: what each selected node (in selection order) answered to log_count_atom;
/// those not counted there (sim, a backend without agent counts, an agent that failed) are
/// read from the run directory.
verdict judge(const params& p, const std::string& name, const run_context& ctx,
              const std::vector<log_count_report>& reports) {
  verdict v;
  v.name = name;
  v.kind = "log_pattern";
  auto nodes = ctx.select(p.nodes);
  uint64_t matches = 0;
  json per_node = json::object(), examples = json::array(), missing = json::array();
  size_t checked = 0, by_agent = 0;
  std::string agent_error;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    const auto r = i < reports.size() ? reports[i] : log_count_report{};
    if (!r.counted && !r.why.empty() && agent_error.empty())
      agent_error = n.id + ": " + r.why;
    auto [s, agent] = count_of(p, ctx, n, r);
    if (!s.exists) {
      missing.push_back(n.id);
      continue;
    }
    ++checked;
    by_agent += agent;
    matches += s.matches;
    if (s.matches)
      per_node[n.id] = s.matches;
    for (const auto& m : s.examples)
      if (examples.size() < 10)
        examples.push_back(json{{"node", n.id}, {"line", m.line_number}, {"text", m.text}});
  }
  const auto source = counted_by(by_agent, checked - by_agent);
  json ev{{"pattern", p.pattern},
          {"nodes", p.nodes},
          {"max_matches", p.max_matches},
          {"matches", matches},
          {"nodes_checked", checked},
          {"nodes_without_log", missing},
          {"checked", checked > 0},
          {"matches_per_node", per_node},
          {"examples", examples},
          {"counted_by", source},
          {"nodes_counted_by_agent", by_agent}};
  if (!agent_error.empty())
    ev["not_counted_by_agent"] = agent_error;
  v.evidence = ev.dump();
  if (nodes.empty()) {
    v.pass = false;
    v.summary = "no node is selected by " + echo(p.nodes);
    return v;
  }
  if (!missing.empty()) {
    const std::string why =
      checked == 0
        ? (ctx.virtual_time ? "no node logs to check: the simulator writes none "
                              "(run with a live backend)"
                            : "no node logs to check in " + (ctx.run_dir / "nodes").string())
        : std::to_string(missing.size()) + " of " + std::to_string(nodes.size()) +
            " nodes have no log (first: " + missing[0].get<std::string>() + ")";
    if (p.missing_logs == "fail") {
      v.pass = false;
      v.summary = why + "; set \"missing_logs\": \"skip\" to accept that";
      return v;
    }
    if (checked == 0) {
      v.pass = true;
      v.summary = "not checked: " + why;
      return v;
    }
  }
  v.pass = matches <= static_cast<uint64_t>(p.max_matches);
  std::string first;
  if (!examples.empty())
    first = "; first: " + examples[0]["node"].get<std::string>() + ":" +
            std::to_string(examples[0]["line"].get<uint64_t>()) + " \"" +
            examples[0]["text"].get<std::string>().substr(0, 120) + "\"";
  v.summary = std::to_string(matches) + " line(s) match " + echo(p.pattern) + " in " +
              std::to_string(checked) + " node log(s) (allowed " + std::to_string(p.max_matches) +
              "; counted by " + source + ")" + first;
  return v;
}

struct state {
  run_context_ptr ctx;
  params p;
  std::string name;
};

using actor_t = caf::stateful_actor<state>;

constexpr auto count_timeout = std::chrono::seconds(30);

log_count_request request_of(const params& p) { return {p.pattern, p.ignore_case}; }

/// Live: asks each selected node to count the pattern where it runs (its agent reads the
/// log from then on, so a host's log never has to travel); the answers are dropped: the
/// counts that matter are asked for at the end.
void ask_to_count(actor_t* self) {
  const auto& st = self->state;
  if (st.ctx->virtual_time)
    return; // the simulator writes no logs: nothing to count, and nothing to disturb
  for (const auto& n : st.ctx->select(st.p.nodes))
    self->request(n.actor, count_timeout, log_count_atom::value, request_of(st.p))
      .then([](const log_count_report&) {}, [](caf::error&) {});
}

/// The verdict once every selected node answered (or failed to: then its file is read).
caf::typed_response_promise<verdict> evaluate(actor_t* self) {
  auto rp = self->make_response_promise<verdict>();
  const auto& st = self->state;
  auto nodes = st.ctx->select(st.p.nodes);
  auto reports = std::make_shared<std::vector<log_count_report>>(nodes.size());
  auto pending = std::make_shared<size_t>(nodes.size());
  auto done = [self, rp, reports]() mutable {
    rp.deliver(judge(self->state.p, self->state.name, *self->state.ctx, *reports));
  };
  if (nodes.empty() || st.ctx->virtual_time) {
    done();
    return rp;
  }
  for (size_t i = 0; i < nodes.size(); ++i)
    self->request(nodes[i].actor, count_timeout, log_count_atom::value, request_of(st.p))
      .then(
        [=](const log_count_report& r) mutable {
          (*reports)[i] = r;
          if (--*pending == 0)
            done();
        },
        [=](caf::error& e) mutable {
          // A node without the handler is one whose backend counts nothing: read its file.
          if (e != caf::sec::unexpected_message)
            (*reports)[i].why = to_string(e);
          if (--*pending == 0)
            done();
        });
  return rp;
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.p = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  self->state.name = entry.name;
  return {
    [=](start_atom) { ask_to_count(self); },
    [](event_atom, const run_event&) {},
    // At the end, before teardown: what the programs wrote during the run.
    [=](evaluate_atom) { return evaluate(self); },
  };
}

} // namespace log_pattern_detail

actor_kind log_pattern_kind() {
  return make_actor_kind("log_pattern",
                         "at most max_matches lines of the nodes' logs match a regular expression",
                         log_pattern_detail::read, log_pattern_detail::behavior);
}

} // namespace troupe::expectations
