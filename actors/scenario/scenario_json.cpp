#include "actors/scenario/scenario_json.hpp"

#include <regex>
#include <set>
#include <sstream>

#include "actors/echo.hpp"
#include "actors/json_read.hpp"
#include "actors/params.hpp"
#include "actors/scenario/leadership.hpp"
#include "actors/scenario/scrape.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/units.hpp"

namespace troupe {

namespace {

using nlohmann::json;
using errors_t = std::vector<validation_error>;

// A scenario's and a group's name: it reaches file and directory names.
constexpr const char* name_chars = "[A-Za-z0-9][A-Za-z0-9._-]*";
constexpr size_t name_chars_max = 64;

const std::regex& name_pattern() {
  static const std::regex re{name_chars};
  return re;
}

bool valid_name(const std::string& s) {
  return s.size() <= name_chars_max && std::regex_match(s, name_pattern());
}

/// Reads `key` as a name (required), checking its characters (names reach file names).
std::string read_name(params_reader& r, const char* key) {
  auto name = r.string(key, "", true);
  r.describe_key(key, {{"pattern", std::string("^") + name_chars + "$"},
                       {"maxLength", name_chars_max},
                       {"description", "1-64 letters, digits, '.', '_' or '-', starting with a "
                                       "letter or digit"}});
  if (r.has(key) && r.object()[key].is_string() && !valid_name(name))
    r.error(key, "must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or "
                 "digit), got " +
                   echo(name));
  return name;
}

link_profile read_link(params_reader& r, const link_profile& base) {
  link_profile l = base;
  l.latency = r.dur("latency", base.latency);
  l.jitter = r.dur("jitter", base.jitter);
  l.loss = r.probability("loss", base.loss);
  l.bandwidth_bps = r.bandwidth("bandwidth", base.bandwidth_bps);
  const auto t = r.one_of("transport", {"model", "datagram", "stream"}, to_string(base.transport));
  l.transport = t == "stream"     ? link_transport::stream
                : t == "datagram" ? link_transport::datagram
                                  : link_transport::model_default;
  l.given = true;
  r.finish();
  return l;
}

// The object form of a layout: {"kind": ..., "degree": N}.
std::string read_layout_object(params_reader& r, layout& out) {
  auto kind = r.one_of("kind", {"star", "chain", "ring", "mesh", "random"}, "mesh", true);
  if (kind == "random")
    out.degree = static_cast<uint32_t>(r.integer("degree", 3, 1, 10000, true));
  r.finish();
  return kind;
}

layout read_layout(const json& j, const std::string& path, errors_t& errors) {
  static constexpr const char* allowed = "star, chain, ring, mesh or {\"kind\": \"random\", "
                                         "\"degree\": N}";
  layout out;
  auto kind_of = [&](const std::string& k, const std::string& p) {
    if (k == "star")
      out.kind = layout_kind::star;
    else if (k == "chain")
      out.kind = layout_kind::chain;
    else if (k == "ring")
      out.kind = layout_kind::ring;
    else if (k == "mesh")
      out.kind = layout_kind::mesh;
    else if (k == "random")
      out.kind = layout_kind::random;
    else
      errors.push_back({p, std::string("must be one of ") + allowed + ", got " + echo(k)});
  };
  if (j.is_string()) {
    kind_of(j.get<std::string>(), path);
    if (out.kind == layout_kind::random)
      errors.push_back({path, "random needs a degree: {\"kind\": \"random\", \"degree\": 8}"});
    return out;
  }
  if (!j.is_object()) {
    errors.push_back({path, std::string("must be ") + allowed + ", got " + describe_json(j)});
    return out;
  }
  params_reader r{j, path, errors};
  kind_of(read_layout_object(r, out), r.path_of("kind"));
  return out;
}

// A layout is a kind's name or an object: the names are those of the object form that read
// well alone (every kind but random, which needs a degree).
json describe_layout() {
  auto object = params_reader::describe([](params_reader& r) {
    layout l;
    read_layout_object(r, l);
  });
  auto names = json::array();
  for (const auto& k : object["properties"]["kind"]["enum"]) {
    errors_t errors;
    read_layout(k, "", errors);
    if (errors.empty())
      names.push_back(k);
  }
  return {{"anyOf", {{{"enum", names}}, object}}};
}

// A group's `scrape` key: the period and the series. Whether the group's program exposes
// /metrics at all is the program validator's check (it knows the program).
scrape_config read_scrape(params_reader& r) {
  scrape_config out;
  out.every = r.dur("every", out.every, std::chrono::milliseconds(100));
  out.series = r.strings("series");
  r.describe_key("series", {{"minItems", 1}});
  for (size_t i = 0; i < out.series.size(); ++i) {
    std::string why;
    if (!parse_series_selector(out.series[i], &why))
      r.errors().push_back(
        {r.path_of("series") + "[" + std::to_string(i) + "]", echo(out.series[i]) + " " + why});
  }
  if (r.has("series") && r.object()["series"].is_array() && r.object()["series"].empty())
    r.error("series", "is empty: name the series to keep, or leave \"series\" out for the "
                      "program's default series");
  r.finish();
  return out;
}

void read_node_spec(params_reader& r, group& g, const registry& reg) {
  g.node.model = r.string("model", "");
  g.node.program = r.string("program", "");
  if (r.describing()) {
    // Each model and program selects the params that apply.
    std::vector<std::pair<json, json>> models, programs;
    for (const auto& m : reg.models())
      models.emplace_back(m.first, json{{"const", m.first}});
    for (const auto& p : reg.programs())
      programs.emplace_back(p.first, json{{"const", p.first}});
    // A path to a program file, as is_program_file() tells it.
    programs.emplace_back("program.json", json{{"pattern", "/|^.+\\.json$"}});
    r.describe_choices("model", std::move(models));
    r.describe_choices("program", std::move(programs));
  }
  if (auto p = r.raw("params"))
    g.node.params = *p;
  r.finish();
  if (!r.object().is_object())
    return;
  const std::string& path = r.path();
  auto& errors = r.errors();
  if (g.node.model.empty() && g.node.program.empty())
    errors.push_back({path, "needs a \"model\" (for the simulator) or a \"program\" (for live "
                            "backends), or both; models: " +
                              reg.model_names() + "; programs: " + reg.program_names()});
  const std::string params_path = join_path(path, "params");
  // The model and the program each read the params; in describe mode, each describes them.
  auto params_reader_for = [&] {
    return r.describing() ? std::make_unique<params_reader>(params_reader::describer())
                          : std::make_unique<params_reader>(g.node.params, params_path, errors);
  };
  std::vector<std::unique_ptr<params_reader>> readers;
  bool params_unknown = false; // a program file's params are known only once it is read
  if (!g.node.model.empty()) {
    if (auto m = reg.model(g.node.model)) {
      readers.push_back(params_reader_for());
      if (m->validate)
        m->validate(*readers.back(), g);
    } else {
      errors.push_back({join_path(path, "model"), "unknown model " + echo(g.node.model) +
                                                    "; known models: " + reg.model_names()});
    }
  }
  if (!g.node.program.empty()) {
    auto is_file = is_program_file(g.node.program);
    const node_kind* p = is_file ? nullptr : reg.program(g.node.program);
    if (p || (is_file && reg.program_file_validator())) {
      readers.push_back(params_reader_for());
      if (p && p->validate)
        p->validate(*readers.back(), g);
      else if (!p && r.describing())
        params_unknown = true;
      else if (!p)
        reg.program_file_validator()(*readers.back(), g, g.node.program);
    } else {
      errors.push_back({join_path(path, "program"),
                        "unknown program " + echo(g.node.program) + "; built-in programs: " +
                          reg.program_names() + " (or a path to a program .json file)"});
    }
  }
  if (!readers.empty()) {
    std::vector<const params_reader*> others;
    for (size_t i = 1; i < readers.size(); ++i)
      others.push_back(readers[i].get());
    if (!params_unknown)
      readers.front()->finish_with(others);
  } else if (!g.node.params.is_object()) {
    errors.push_back({params_path, "must be an object, got " + describe_json(g.node.params)});
  }
  if (r.describing()) {
    auto each = json::array();
    for (const auto& pr : readers)
      each.push_back(pr->schema());
    r.describe_key("params", each.empty()       ? json{{"type", "object"}}
                             : each.size() == 1 ? each[0]
                                                : json{{"allOf", each}});
  }
}

void read_group(params_reader& r, const link_profile& link, const registry& reg,
                std::set<std::string>& names, std::vector<group>& out) {
  group g;
  g.name = read_name(r, "name");
  if (!g.name.empty() && valid_name(g.name) && !names.insert(g.name).second)
    r.error("name", "duplicate group name " + echo(g.name) + "; group names must be unique");
  g.role = r.string("role", g.name);
  g.role_given = r.object().is_object() && r.object().contains("role");
  g.count = static_cast<uint32_t>(r.integer("count", 1, 1, 100'000'000, true));
  // Before the node: the program's validator checks that the program can be scraped.
  if (r.section("scrape", [&](params_reader& q) { g.scrape = read_scrape(q); })) {
    auto node = r.object().is_object() && r.object().contains("node") ? r.object()["node"] : json();
    if (node.is_object() && !node.contains("program"))
      r.error("scrape", "reads a live node program's /metrics, and this group's node has no "
                        "\"program\" (simulated models expose none): add a program such as "
                        "\"etcd\" or remove \"scrape\"");
  }
  r.describe_rule({{"if", {{"required", {"scrape"}}}},
                   {"then", {{"properties", {{"node", {{"required", {"program"}}}}}}}}});
  r.section(
    "node", [&](params_reader& q) { read_node_spec(q, g, reg); },
    "{\"model\": \"chain\"} and/or {\"program\": \"...\"}");
  // After the node: whether the role decides block production is the node kind's rule.
  if (!r.describing())
    if (auto why = leadership_role_error(g, reg))
      r.error("role", *why);
  r.section("link", [&](params_reader& q) { g.link = read_link(q, link); });
  r.finish();
  out.push_back(std::move(g));
}

// From the counts alone: a topology too large to simulate is never expanded to find out.
void check_size(const topology& t, errors_t& errors) {
  const auto size = size_of(t);
  if (size.nodes > topology_nodes_max) {
    errors.push_back(
      {"topology.groups",
       std::to_string(size.nodes) + " nodes in all (the sum of the groups' counts) is more than " +
         std::to_string(topology_nodes_max) +
         ", the most one run may have: the simulator is measured up to 100,000 nodes and the "
         "chain model holds ~42 KB per node (docs/kernel.md); lower the counts"});
    return;
  }
  if (size.links > topology_links_max)
    errors.push_back(
      {"topology.layout", std::string("a ") + to_string(t.layout.kind) + " layout over " +
                            std::to_string(size.nodes) + " nodes makes " +
                            (size.links_exact ? "" : "at least ") + std::to_string(size.links) +
                            " links, more than " + std::to_string(topology_links_max) +
                            ", the most one run may have (each costs memory before the run "
                            "starts); use {\"kind\": \"random\", \"degree\": 8} or fewer nodes"});
}

void read_topology(params_reader& r, scenario& s, const registry& reg) {
  r.section("link", [&](params_reader& q) { s.topology.link = read_link(q, link_profile{}); });
  if (auto l = r.raw("layout"))
    s.topology.layout = read_layout(*l, r.path_of("layout"), r.errors());
  if (r.describing())
    r.describe_key("layout", describe_layout());
  std::set<std::string> names;
  r.items(
    "groups", "a list of groups",
    [&](params_reader& q) { read_group(q, s.topology.link, reg, names, s.topology.groups); },
    "a list of {\"name\", \"count\", \"node\"} groups");
  r.finish();
  check_size(s.topology, r.errors());
}

/// One workload (`workloads`) or expectation; `nodeless`: the topology has no groups (an
/// empty list, not a broken one).
void read_entry(params_reader& r, bool workloads, bool nodeless, const registry& reg,
                const scenario& s, std::set<std::string>& names, std::vector<kind_entry>& out) {
  const auto& kinds = workloads ? reg.workloads() : reg.expectations();
  kind_entry entry;
  entry.kind = r.string("kind", "", true);
  if (r.describing()) {
    std::vector<std::pair<json, json>> values;
    for (const auto& k : kinds)
      values.emplace_back(k.first, json{{"const", k.first}});
    r.describe_choices("kind", std::move(values));
  }
  entry.name = r.string("name", entry.kind);
  // Names reach file names in the run directory (a campaign's store is jobs-<name>.db).
  if (r.object().is_object() && r.object().contains("name") && r.object()["name"].is_string() &&
      !valid_name(entry.name))
    r.error("name", "must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter "
                    "or digit), got " +
                      echo(entry.name));
  const json& e = r.object();
  if (!e.is_object())
    return;
  const actor_kind* k = workloads ? reg.workload(entry.kind) : reg.expectation(entry.kind);
  if (!entry.kind.empty() && !k)
    r.error("kind", std::string("unknown ") + (workloads ? "workload" : "expectation") + " kind " +
                      echo(entry.kind) + "; known kinds: " +
                      (workloads ? reg.workload_names() : reg.expectation_names()));
  if (k && k->needs_nodes && nodeless)
    r.error("kind", echo(entry.kind) +
                      " needs nodes, but topology.groups is empty: add a "
                      "group, or keep to the kinds that run without nodes (" +
                      reg.nodeless_names() + ")");
  if (!entry.name.empty() && !names.insert(entry.name).second)
    r.error("name", "duplicate name " + echo(entry.name) + "; give each entry a unique \"name\"");
  entry.params = json::object();
  for (auto it = e.begin(); it != e.end(); ++it)
    if (it.key() != "kind" && it.key() != "name")
      entry.params[it.key()] = it.value();
  if (k && k->validate) {
    k->validate(r, s);
    r.finish();
  } else if (!k) {
    // Unknown kind: its keys cannot be checked; the kind error says what to fix first.
    for (auto it = e.begin(); it != e.end(); ++it)
      r.allow({it.key().c_str()});
    r.finish();
  }
  out.push_back(std::move(entry));
}

// The backend in its object form: {"name": ..., the backend's own keys}.
const backend_kind* read_backend_object(params_reader& r, scenario& s, const registry& reg) {
  s.backend.name = r.string("name", "sim");
  if (r.describing()) {
    std::vector<std::pair<json, json>> values;
    for (const auto& b : reg.backends())
      values.emplace_back(b.first, json{{"const", b.first}});
    r.describe_choices("name", std::move(values));
  }
  const json& b = r.object();
  if (b.is_object())
    for (auto it = b.begin(); it != b.end(); ++it)
      if (it.key() != "name")
        s.backend.params[it.key()] = it.value();
  const backend_kind* k = reg.backend(s.backend.name);
  if (k) {
    if (k->validate)
      k->validate(r);
    r.finish();
  }
  return k;
}

void read_backend(params_reader& r, scenario& s, const registry& reg) {
  if (r.describing()) {
    auto names = json::array();
    for (const auto& b : reg.backends())
      names.push_back(b.first);
    auto object = params_reader::describe([&](params_reader& br) {
      scenario scratch;
      read_backend_object(br, scratch, reg);
    });
    r.describe_key("backend", {{"anyOf", {{{"enum", names}}, object}}, {"default", "sim"}});
  }
  auto b = r.raw("backend");
  if (!b)
    return;
  std::string name_path = "backend";
  const backend_kind* k = nullptr;
  if (b->is_string()) {
    s.backend.name = b->get<std::string>();
    k = reg.backend(s.backend.name);
  } else {
    params_reader br{*b, "backend", r.errors()};
    name_path = "backend.name";
    k = read_backend_object(br, s, reg);
  }
  if (!k)
    r.errors().push_back({name_path, "unknown backend " + echo(s.backend.name) +
                                       "; known backends: " + reg.backend_names()});
}

} // namespace

void read_scenario_object(params_reader& r, scenario& s, const registry& reg) {
  auto& errors = r.errors();
  // Where the file's JSON Schema is (`troupe schema scenario`), for editors.
  r.string("$schema", "");
  s.name = read_name(r, "name");
  s.description = r.string("description", "");
  s.seed = static_cast<uint64_t>(r.integer("seed", 1, 0, INT64_MAX));
  s.run_duration = r.dur("duration", s.run_duration, std::chrono::milliseconds(1), true);
  r.section(
    "topology", [&](params_reader& tr) { read_topology(tr, s, reg); },
    "{\"layout\": ..., \"link\": ..., \"groups\": [...]}");
  read_backend(r, s, reg);
  // Scraping reads real programs' /metrics: the simulator has none to read.
  if (s.backend.name == "sim")
    for (size_t i = 0; i < s.topology.groups.size(); ++i)
      if (s.topology.groups[i].scrape)
        errors.push_back({"topology.groups[" + std::to_string(i) + "].scrape",
                          "scrapes a live program's /metrics, but the scenario runs on the sim "
                          "backend, whose simulated nodes expose none: use \"backend\": "
                          "\"local\" or remove \"scrape\""});
  r.describe_rule(
    {{"if",
      {{"anyOf",
        {{{"not", {{"required", {"backend"}}}}},
         {{"properties",
           {{"backend",
             {{"anyOf",
               {{{"const", "sim"}},
                {{"type", "object"}, {"properties", {{"name", {{"const", "sim"}}}}}}}}}}}}}}}}},
     {"then",
      {{"properties",
        {{"topology",
          {{"properties", {{"groups", {{"items", {{"not", {{"required", {"scrape"}}}}}}}}}}}}}}}}});
  // Entries are read after the topology: their validators check references to its groups.
  const json& j = r.object();
  const json* groups = j.contains("topology") && j["topology"].is_object()
                         ? (j["topology"].contains("groups") ? &j["topology"]["groups"] : nullptr)
                         : nullptr;
  const bool nodeless = groups && groups->is_array() && groups->empty();
  for (bool workloads : {true, false}) {
    std::set<std::string> names;
    auto& out = workloads ? s.workloads : s.expectations;
    r.items(workloads ? "workloads" : "expectations", "a list of {\"kind\": ...} objects",
            [&](params_reader& q) { read_entry(q, workloads, nodeless, reg, s, names, out); });
  }
  if (nodeless && s.workloads.empty())
    errors.push_back({"topology.groups", "is empty and the scenario has no workload: there is "
                                         "nothing to run; add a group, or a \"jobs\" workload"});
  // Without groups, only the kinds that run without nodes, and at least one workload.
  auto nodeless_kinds = json::array();
  for (const auto* kinds : {&reg.workloads(), &reg.expectations()})
    for (const auto& [kind, k] : *kinds)
      if (!k.needs_nodes)
        nodeless_kinds.push_back(kind);
  const json kinds_without_nodes{
    {"items", {{"properties", {{"kind", {{"enum", nodeless_kinds}}}}}}}};
  const json no_groups{{"required", {"topology"}},
                       {"properties",
                        {{"topology",
                          {{"required", {"groups"}},
                           {"properties", {{"groups", {{"type", "array"}, {"maxItems", 0}}}}}}}}}};
  json workloads_without_nodes = kinds_without_nodes;
  workloads_without_nodes["minItems"] = 1;
  r.describe_rule(
    {{"if", no_groups},
     {"then",
      {{"required", {"workloads"}},
       {"properties",
        {{"workloads", workloads_without_nodes}, {"expectations", kinds_without_nodes}}}}}});
  r.finish();
}

const char* to_string(layout_kind k) noexcept {
  switch (k) {
    case layout_kind::star:
      return "star";
    case layout_kind::chain:
      return "chain";
    case layout_kind::ring:
      return "ring";
    case layout_kind::mesh:
      return "mesh";
    case layout_kind::random:
      return "random";
  }
  return "?";
}

scenario read_scenario(const json& j, const registry& reg, errors_t& errors) {
  scenario s;
  if (!j.is_object()) {
    errors.push_back({"", "a scenario must be a JSON object with \"name\", \"duration\" and "
                          "\"topology\", got " +
                            describe_json(j)});
    return s;
  }
  params_reader r{j, "", errors};
  read_scenario_object(r, s, reg);
  return s;
}

scenario scenario_from_json(const json& j, const registry& reg) {
  errors_t errors;
  auto s = read_scenario(j, reg, errors);
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  return s;
}

scenario load_scenario(const std::filesystem::path& file, const registry& reg) {
  return scenario_from_json(read_json_file(file, "scenario file"), reg);
}

const char* to_string(link_transport t) {
  switch (t) {
    case link_transport::datagram:
      return "datagram";
    case link_transport::stream:
      return "stream";
    case link_transport::model_default:
      break;
  }
  return "model";
}

json to_json(const link_profile& l) {
  json j{{"latency", format_duration(l.latency)},
         {"jitter", format_duration(l.jitter)},
         {"loss", l.loss},
         {"bandwidth", format_bandwidth(l.bandwidth_bps)}};
  if (l.transport != link_transport::model_default)
    j["transport"] = to_string(l.transport);
  return j;
}

json to_json(const scenario& s) {
  json j;
  j["name"] = s.name;
  if (!s.description.empty())
    j["description"] = s.description;
  j["seed"] = s.seed;
  j["duration"] = format_duration(s.run_duration);
  json t;
  if (s.topology.layout.kind == layout_kind::random)
    t["layout"] = json{{"kind", "random"}, {"degree", s.topology.layout.degree}};
  else
    t["layout"] = to_string(s.topology.layout.kind);
  // As written: a default profile stays unwritten, so live backends still leave the links
  // of a round-tripped scenario unshaped.
  if (s.topology.link.given)
    t["link"] = to_json(s.topology.link);
  t["groups"] = json::array();
  for (const auto& g : s.topology.groups) {
    json gj{{"name", g.name}, {"count", g.count}};
    if (g.role_given)
      gj["role"] = g.role;
    json node = json::object();
    if (!g.node.model.empty())
      node["model"] = g.node.model;
    if (!g.node.program.empty())
      node["program"] = g.node.program;
    if (!g.node.params.empty())
      node["params"] = g.node.params;
    gj["node"] = node;
    if (g.link)
      gj["link"] = to_json(*g.link);
    if (g.scrape) {
      json sc{{"every", format_duration(g.scrape->every)}};
      if (!g.scrape->series.empty())
        sc["series"] = g.scrape->series;
      gj["scrape"] = sc;
    }
    t["groups"].push_back(gj);
  }
  j["topology"] = t;
  json b = s.backend.params;
  b["name"] = s.backend.name;
  j["backend"] = b;
  auto entries = [](const std::vector<kind_entry>& es) {
    json out = json::array();
    for (const auto& e : es) {
      json ej = e.params;
      ej["kind"] = e.kind;
      ej["name"] = e.name;
      out.push_back(ej);
    }
    return out;
  };
  j["workloads"] = entries(s.workloads);
  j["expectations"] = entries(s.expectations);
  return j;
}

void check_selector(params_reader& r, const char* key, const std::string& selector,
                    const scenario& s) {
  check_selector(r.errors(), r.path_of(key), selector, s);
}

void check_selector(std::vector<validation_error>& errors, const std::string& path,
                    const std::string& selector, const scenario& s) {
  if (selector == "all")
    return;
  for (const auto& g : s.topology.groups) {
    if (g.name == selector)
      return;
    // A node id: "<group>-<index>" with index < count.
    const auto prefix = g.name + "-";
    if (selector.size() > prefix.size() && selector.compare(0, prefix.size(), prefix) == 0) {
      const auto rest = selector.substr(prefix.size());
      if (rest.find_first_not_of("0123456789") == std::string::npos && rest.size() < 10 &&
          std::stoull(rest) < g.count)
        return;
    }
  }
  std::string groups;
  for (const auto& g : s.topology.groups)
    groups += (groups.empty() ? "" : ", ") + g.name;
  errors.push_back(
    {path, echo(selector) + " names no group or node; use \"all\", a group (" + groups +
             ") or a node id such as \"" +
             (s.topology.groups.empty() ? std::string("validator") : s.topology.groups[0].name) +
             "-0\""});
}

} // namespace troupe
