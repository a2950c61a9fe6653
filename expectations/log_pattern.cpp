#include "expectations/log_pattern.hpp"

#include <caf/all.hpp>

#include "actors/echo.hpp"
#include "actors/log_scan.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"

namespace troupe::expectations {

namespace {

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

verdict judge(const params& p, const std::string& name, const run_context& ctx) {
  verdict v;
  v.name = name;
  v.kind = "log_pattern";
  auto nodes = ctx.select(p.nodes);
  uint64_t matches = 0;
  json per_node = json::object(), examples = json::array(), missing = json::array();
  size_t checked = 0;
  for (const auto& n : nodes) {
    auto s = scan_log_file(node_log_path(ctx.run_dir, n.id), *p.re);
    if (!s.exists) {
      missing.push_back(n.id);
      continue;
    }
    ++checked;
    matches += s.matches;
    if (s.matches)
      per_node[n.id] = s.matches;
    for (const auto& m : s.examples)
      if (examples.size() < 10)
        examples.push_back(json{{"node", n.id}, {"line", m.line_number}, {"text", m.text}});
  }
  v.evidence = json{{"pattern", p.pattern},         {"nodes", p.nodes},
                    {"max_matches", p.max_matches}, {"matches", matches},
                    {"nodes_checked", checked},     {"nodes_without_log", missing},
                    {"checked", checked > 0},       {"matches_per_node", per_node},
                    {"examples", examples}}
                 .dump();
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
              ")" + first;
  return v;
}

struct state {
  run_context_ptr ctx;
  params p;
  std::string name;
};

using actor_t = caf::stateful_actor<state>;

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.p = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  self->state.name = entry.name;
  return {
    [](start_atom) {},
    [](event_atom, const run_event&) {},
    [=](evaluate_atom) {
      // Read at the end, before teardown: what the programs wrote during the run.
      return judge(self->state.p, self->state.name, *self->state.ctx);
    },
  };
}

} // namespace

actor_kind log_pattern_kind() {
  return make_actor_kind("log_pattern",
                         "at most max_matches lines of the nodes' logs match a regular expression",
                         read, behavior);
}

} // namespace troupe::expectations
