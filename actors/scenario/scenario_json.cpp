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

const std::regex& name_pattern() {
  static const std::regex re{"[A-Za-z0-9][A-Za-z0-9._-]*"};
  return re;
}

bool valid_name(const std::string& s) {
  return s.size() <= 64 && std::regex_match(s, name_pattern());
}

link_profile read_link(const json& j, const std::string& path, const link_profile& base,
                       errors_t& errors) {
  params_reader r{j, path, errors};
  link_profile l = base;
  l.latency = r.dur("latency", base.latency);
  l.jitter = r.dur("jitter", base.jitter);
  l.loss = r.probability("loss", base.loss);
  l.bandwidth_bps = r.bandwidth("bandwidth", base.bandwidth_bps);
  r.finish();
  return l;
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
  auto kind = r.one_of("kind", {"star", "chain", "ring", "mesh", "random"}, "mesh", true);
  kind_of(kind, r.path_of("kind"));
  if (out.kind == layout_kind::random)
    out.degree = static_cast<uint32_t>(r.integer("degree", 3, 1, 10000, true));
  r.finish();
  return out;
}

// A group's `scrape` key: the period and the series. Whether the group's program exposes
// /metrics at all is the program validator's check (it knows the program).
scrape_config read_scrape(const json& j, const std::string& path, errors_t& errors) {
  scrape_config out;
  params_reader r{j, path, errors};
  out.every = r.dur("every", out.every, std::chrono::milliseconds(100));
  out.series = r.strings("series");
  for (size_t i = 0; i < out.series.size(); ++i) {
    std::string why;
    if (!parse_series_selector(out.series[i], &why))
      errors.push_back(
        {r.path_of("series") + "[" + std::to_string(i) + "]", echo(out.series[i]) + " " + why});
  }
  if (r.has("series") && j["series"].is_array() && j["series"].empty())
    r.error("series", "is empty: name the series to keep, or leave \"series\" out for the "
                      "program's default series");
  r.finish();
  return out;
}

void read_node_spec(const json& j, const std::string& path, group& g, const registry& reg,
                    errors_t& errors) {
  params_reader r{j, path, errors};
  g.node.model = r.string("model", "");
  g.node.program = r.string("program", "");
  if (auto p = r.raw("params"))
    g.node.params = *p;
  r.finish();
  if (!j.is_object())
    return;
  if (g.node.model.empty() && g.node.program.empty())
    errors.push_back({path, "needs a \"model\" (for the simulator) or a \"program\" (for live "
                            "backends), or both; models: " +
                              reg.model_names() + "; programs: " + reg.program_names()});
  const std::string params_path = join_path(path, "params");
  std::vector<std::unique_ptr<params_reader>> readers;
  if (!g.node.model.empty()) {
    if (auto m = reg.model(g.node.model)) {
      readers.push_back(std::make_unique<params_reader>(g.node.params, params_path, errors));
      if (m->validate)
        m->validate(*readers.back(), g);
    } else {
      errors.push_back({join_path(path, "model"), "unknown model " + echo(g.node.model) +
                                                    "; known models: " + reg.model_names()});
    }
  }
  if (!g.node.program.empty()) {
    auto is_file = g.node.program.find('/') != std::string::npos ||
                   (g.node.program.size() > 5 &&
                    g.node.program.compare(g.node.program.size() - 5, 5, ".json") == 0);
    const node_kind* p = is_file ? nullptr : reg.program(g.node.program);
    if (p || (is_file && reg.program_file_validator())) {
      readers.push_back(std::make_unique<params_reader>(g.node.params, params_path, errors));
      if (p && p->validate)
        p->validate(*readers.back(), g);
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
    readers.front()->finish_with(others);
  } else if (!g.node.params.is_object()) {
    errors.push_back({params_path, "must be an object, got " + describe_json(g.node.params)});
  }
}

std::vector<group> read_groups(const json& j, const std::string& path, const link_profile& link,
                               const registry& reg, errors_t& errors) {
  std::vector<group> out;
  if (!j.is_array()) {
    errors.push_back({path, "must be a list of groups, got " + describe_json(j)});
    return out;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string gp = path + "[" + std::to_string(i) + "]";
    params_reader r{j[i], gp, errors};
    group g;
    g.name = r.string("name", "", true);
    if (r.has("name") && j[i]["name"].is_string() && !valid_name(g.name))
      r.error("name", "must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter "
                      "or digit), got " +
                        echo(g.name));
    else if (!g.name.empty() && !names.insert(g.name).second)
      r.error("name", "duplicate group name " + echo(g.name) + "; group names must be unique");
    g.role = r.string("role", g.name);
    g.role_given = r.has("role");
    g.count = static_cast<uint32_t>(r.integer("count", 1, 1, 100'000'000, true));
    // Before the node: the program's validator checks that the program can be scraped.
    if (auto sc = r.raw("scrape")) {
      g.scrape = read_scrape(*sc, r.path_of("scrape"), errors);
      auto node = j[i].is_object() && j[i].contains("node") ? j[i]["node"] : json();
      if (node.is_object() && !node.contains("program"))
        r.error("scrape", "reads a live node program's /metrics, and this group's node has no "
                          "\"program\" (simulated models expose none): add a program such as "
                          "\"etcd\" or remove \"scrape\"");
    }
    if (auto node = r.raw("node"))
      read_node_spec(*node, r.path_of("node"), g, reg, errors);
    else
      r.error("node", "is required: {\"model\": \"chain\"} and/or {\"program\": \"...\"}");
    // After the node: whether the role decides block production is the node kind's rule.
    if (auto why = leadership_role_error(g, reg))
      r.error("role", *why);
    if (auto l = r.raw("link"))
      g.link = read_link(*l, r.path_of("link"), link, errors);
    r.finish();
    out.push_back(std::move(g));
  }
  return out;
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

/// `nodeless`: the topology has no groups (an empty list, not a broken one).
void read_entries(const json* j, const std::string& path, bool workloads, bool nodeless,
                  const registry& reg, const scenario& s, std::vector<kind_entry>& out,
                  errors_t& errors) {
  if (!j)
    return;
  if (!j->is_array()) {
    errors.push_back({path, "must be a list of {\"kind\": ...} objects, got " + describe_json(*j)});
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j->size(); ++i) {
    const std::string ep = path + "[" + std::to_string(i) + "]";
    const json& e = (*j)[i];
    params_reader r{e, ep, errors};
    kind_entry entry;
    entry.kind = r.string("kind", "", true);
    entry.name = r.string("name", entry.kind);
    // Names reach file names in the run directory (a campaign's store is jobs-<name>.db).
    if (r.has("name") && e.is_object() && e["name"].is_string() && !valid_name(entry.name))
      r.error("name", "must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter "
                      "or digit), got \"" +
                        entry.name + "\"");
    if (!e.is_object())
      continue;
    const actor_kind* k = workloads ? reg.workload(entry.kind) : reg.expectation(entry.kind);
    if (!entry.kind.empty() && !k)
      r.error("kind", std::string("unknown ") + (workloads ? "workload" : "expectation") +
                        " kind " + echo(entry.kind) + "; known kinds: " +
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
}

} // namespace

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
  s.name = r.string("name", "", true);
  if (r.has("name") && j["name"].is_string() && !valid_name(s.name))
    r.error("name", "must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or "
                    "digit), got " +
                      echo(s.name));
  s.description = r.string("description", "");
  s.seed = static_cast<uint64_t>(r.integer("seed", 1, 0, INT64_MAX));
  s.run_duration = r.dur("duration", s.run_duration, std::chrono::milliseconds(1), true);
  if (auto t = r.raw("topology")) {
    params_reader tr{*t, "topology", errors};
    if (auto l = tr.raw("link"))
      s.topology.link = read_link(*l, "topology.link", link_profile{}, errors);
    if (auto l = tr.raw("layout"))
      s.topology.layout = read_layout(*l, "topology.layout", errors);
    if (auto g = tr.raw("groups"))
      s.topology.groups = read_groups(*g, "topology.groups", s.topology.link, reg, errors);
    else
      tr.error("groups", "is required: a list of {\"name\", \"count\", \"node\"} groups");
    tr.finish();
    check_size(s.topology, errors);
  } else {
    r.error("topology", "is required: {\"layout\": ..., \"link\": ..., \"groups\": [...]}");
  }
  if (auto b = r.raw("backend")) {
    std::string name_path = "backend";
    const backend_kind* k = nullptr;
    if (b->is_string()) {
      s.backend.name = b->get<std::string>();
      k = reg.backend(s.backend.name);
    } else {
      params_reader br{*b, "backend", errors};
      s.backend.name = br.string("name", "sim");
      name_path = "backend.name";
      if (b->is_object())
        for (auto it = b->begin(); it != b->end(); ++it)
          if (it.key() != "name")
            s.backend.params[it.key()] = it.value();
      k = reg.backend(s.backend.name);
      if (k) {
        if (k->validate)
          k->validate(br);
        br.finish();
      }
    }
    if (!k)
      errors.push_back({name_path, "unknown backend " + echo(s.backend.name) +
                                     "; known backends: " + reg.backend_names()});
  }
  // Scraping reads real programs' /metrics: the simulator has none to read.
  if (s.backend.name == "sim")
    for (size_t i = 0; i < s.topology.groups.size(); ++i)
      if (s.topology.groups[i].scrape)
        errors.push_back({"topology.groups[" + std::to_string(i) + "].scrape",
                          "scrapes a live program's /metrics, but the scenario runs on the sim "
                          "backend, whose simulated nodes expose none: use \"backend\": "
                          "\"local\" or remove \"scrape\""});
  // Entries are read after the topology: their validators check references to its groups.
  const json* groups = j.contains("topology") && j["topology"].is_object()
                         ? (j["topology"].contains("groups") ? &j["topology"]["groups"] : nullptr)
                         : nullptr;
  const bool nodeless = groups && groups->is_array() && groups->empty();
  read_entries(r.raw("workloads"), "workloads", true, nodeless, reg, s, s.workloads, errors);
  read_entries(r.raw("expectations"), "expectations", false, nodeless, reg, s, s.expectations,
               errors);
  if (nodeless && s.workloads.empty())
    errors.push_back({"topology.groups", "is empty and the scenario has no workload: there is "
                                         "nothing to run; add a group, or a \"jobs\" workload"});
  r.finish();
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

json to_json(const link_profile& l) {
  return json{{"latency", format_duration(l.latency)},
              {"jitter", format_duration(l.jitter)},
              {"loss", l.loss},
              {"bandwidth", format_bandwidth(l.bandwidth_bps)}};
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
