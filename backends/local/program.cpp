#include "backends/local/program.hpp"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <limits>

#include "actors/echo.hpp"
#include "actors/errors.hpp"
#include "actors/json_read.hpp"
#include "actors/placeholders.hpp"
#include "actors/scenario/scrape.hpp"
#include "actors/units.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;

// -- templates ------------------------------------------------------------------

std::string render(const std::string& text, const template_vars& vars, const std::string& where) {
  return expand_placeholders(text, [&](const std::string& name) -> std::optional<std::string> {
    // Program templates name values in lower case; `{HOME}`-like text is left alone.
    for (char c : name)
      if (std::isupper(static_cast<unsigned char>(c)))
        return std::nullopt;
    if (auto it = vars.find(name); it != vars.end())
      return it->second;
    // Transaction fields are filled per request by the adapter, not per node.
    if (name.compare(0, 3, "tx.") == 0)
      return std::nullopt;
    throw user_error(where + ": unknown placeholder {" + name +
                     "}: use one of the node's values (id, index, data_dir, a port name, "
                     "param.<key>, ...)");
  });
}

nlohmann::json render_json(const nlohmann::json& value, const template_vars& vars,
                           const std::string& where) {
  if (value.is_string())
    return render(value.get<std::string>(), vars, where);
  if (value.is_object()) {
    auto out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it)
      out[it.key()] = render_json(it.value(), vars, where + "." + it.key());
    return out;
  }
  if (value.is_array()) {
    auto out = nlohmann::json::array();
    for (size_t i = 0; i < value.size(); ++i)
      out.push_back(render_json(value[i], vars, where + "[" + std::to_string(i) + "]"));
    return out;
  }
  return value;
}

// -- finding --------------------------------------------------------------------

namespace {

// The places a built-in programs directory may be, relative to the running binary:
// next to it (build/troupe -> build/programs), one up (build/tests/test_x -> build/programs)
// and installed (P/bin/troupe -> P/share/troupe/programs).
std::vector<fs::path> program_dir_candidates() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    return {};
  auto bin = exe.parent_path();
  return {bin / "programs", bin / ".." / "share" / "troupe" / "programs", bin / ".." / "programs"};
}

// $TROUPE_PROGRAMS_DIR, else the first candidate that is a directory; empty when none is.
fs::path find_programs_dir() {
  std::error_code ec;
  if (auto env = std::getenv("TROUPE_PROGRAMS_DIR"); env && *env)
    return fs::is_directory(env, ec) ? fs::path{env} : fs::path{};
  for (auto& candidate : program_dir_candidates())
    if (fs::is_directory(candidate, ec))
      return candidate.lexically_normal();
  return {};
}

} // namespace

fs::path programs_dir() {
  if (auto dir = find_programs_dir(); !dir.empty())
    return dir;
  if (auto env = std::getenv("TROUPE_PROGRAMS_DIR"); env && *env)
    throw user_error(std::string("TROUPE_PROGRAMS_DIR=") + env +
                     " is not a directory: set it to the directory holding the built-in node "
                     "programs (etcd.json, litecoin-regtest.json; backends/programs in the "
                     "sources)");
  std::string looked;
  for (auto& candidate : program_dir_candidates())
    looked += (looked.empty() ? " in " : ", ") + candidate.lexically_normal().string();
  throw user_error("the built-in node programs were not found" + looked +
                   ": set TROUPE_PROGRAMS_DIR to the directory holding them (backends/programs "
                   "in the sources, share/troupe/programs once installed)");
}

std::vector<std::string> builtin_programs() {
  std::vector<std::string> out;
  auto dir = find_programs_dir();
  if (dir.empty())
    return out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (it->path().extension() == ".json")
      out.push_back(it->path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

program_ptr load_program(const std::string& ref, const fs::path& base_dir) {
  fs::path file;
  std::error_code ec;
  if (!is_program_file(ref)) {
    file = programs_dir() / (ref + ".json");
    if (!fs::exists(file, ec)) {
      std::string names;
      for (auto& n : builtin_programs())
        names += (names.empty() ? "" : ", ") + n;
      throw user_error(
        "unknown node program '" + ref + "': the built-in programs are " +
        (names.empty() ? "none (is " + programs_dir().string() + " missing?)" : names) +
        ", or give a path to a program JSON file");
    }
  } else {
    file = ref;
    if (!fs::exists(file, ec) && !base_dir.empty() && fs::path{ref}.is_relative() &&
        fs::exists(base_dir / ref, ec))
      file = base_dir / ref;
    if (!fs::exists(file, ec))
      throw user_error("node program file " + ref +
                       " does not exist: give a path relative to the working directory or "
                       "to the scenario file");
  }
  const auto doc = read_json_file(file, "node program file");
  auto p = parse_program(doc, file.string());
  auto copy = std::make_shared<program>(*p);
  copy->source = file;
  return copy;
}

// -- parsing --------------------------------------------------------------------

void read_program(params_reader& r, program& prog) {
  auto* p = &prog;
  auto& errors = r.errors();
  // Where the file's JSON Schema is (`troupe schema program`), for editors.
  r.string("$schema", "");
  p->name = r.string("name", "", true);
  p->summary = r.string("summary", "");
  p->binary = r.string("binary", "", true);
  p->package = r.string("package", "");
  p->args = r.strings("args");
  p->finality_depth = "0";
  r.describe_key("finality_depth",
                 {{"anyOf", {{{"type", "integer"}, {"minimum", 0}}, {{"type", "string"}}}}});
  if (auto f = r.raw("finality_depth")) {
    if (f->is_string())
      p->finality_depth = f->get<std::string>();
    else if (f->is_number_unsigned())
      p->finality_depth = std::to_string(f->get<uint64_t>());
    else
      r.error("finality_depth", "must be an integer >= 0 or a template, got " + describe_json(*f));
  }
  auto string_map = [&](const char* key, std::map<std::string, std::string>& out) {
    r.describe_key(
      key, {{"type", "object"}, {"additionalProperties", {{"type", {"string", "number"}}}}});
    auto v = r.raw(key);
    if (!v)
      return;
    if (!v->is_object()) {
      r.error(key, "must be an object of strings, got " + describe_json(*v));
      return;
    }
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it.value().is_string())
        out[it.key()] = it.value().get<std::string>();
      else if (it.value().is_number())
        out[it.key()] = it.value().dump();
      else
        errors.push_back(
          {r.path_of(key) + "." + it.key(), "must be a string, got " + describe_json(it.value())});
    }
  };
  string_map("env", p->env);
  string_map("vars", p->vars);
  r.describe_key(
    "ports",
    {{"type", "object"},
     {"additionalProperties",
      {{"anyOf",
        {{{"const", "auto"}}, {{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}}}}}});
  if (auto v = r.raw("ports")) {
    if (!v->is_object()) {
      r.error("ports", "must be an object {name: \"auto\" | base port}, got " + describe_json(*v));
    } else {
      for (auto it = v->begin(); it != v->end(); ++it) {
        auto& val = it.value();
        if (val.is_string() && val.get<std::string>() == "auto")
          p->ports.emplace_back(it.key(), 0);
        else if (val.is_number_unsigned() && val.get<uint64_t>() >= 1 &&
                 val.get<uint64_t>() <= 65535)
          p->ports.emplace_back(it.key(), val.get<int64_t>());
        else
          errors.push_back({r.path_of("ports") + "." + it.key(),
                            "must be \"auto\" or a base port 1..65535, got " + describe_json(val)});
      }
    }
  }
  // A declared param: its default alone, or {"default", "min", "max"}.
  auto read_param = [](params_reader& pr, program_param& pp) {
    if (auto d = pr.raw("default"))
      pp.fallback = *d;
    else
      pr.error("default", "is required: the parameter's default value");
    pr.describe_rule({{"required", {"default"}}});
    if (pr.given("min"))
      pp.min = pr.number("min", 0, -1e18, 1e18);
    if (pr.given("max"))
      pp.max = pr.number("max", 0, -1e18, 1e18);
    pr.finish();
  };
  if (r.describing()) {
    program_param scratch;
    auto object_form = params_reader::describe([&](params_reader& pr) { read_param(pr, scratch); });
    auto any_of =
      nlohmann::json::array({nlohmann::json{{"not", {{"type", "object"}}}}, object_form});
    r.describe_key("params", {{"type", "object"}, {"additionalProperties", {{"anyOf", any_of}}}});
  }
  if (auto v = r.raw("params")) {
    if (!v->is_object()) {
      r.error("params", "must be an object {name: default}, got " + describe_json(*v));
    } else {
      for (auto it = v->begin(); it != v->end(); ++it) {
        program_param pp;
        auto val = it.value();
        if (val.is_object()) {
          params_reader pr{val, r.path_of("params") + "." + it.key(), errors};
          read_param(pr, pp);
        } else {
          pp.fallback = val;
        }
        pp.is_duration =
          pp.fallback.is_string() && parse_duration(pp.fallback.get<std::string>()).has_value();
        p->params[it.key()] = pp;
      }
    }
  }
  r.section("join", [&](params_reader& jr) {
    p->join_scope = jr.one_of("scope", {"topology", "all"}, "topology");
    p->join_peer = jr.string("peer", "");
    p->join_separator = jr.string("separator", ",");
    p->join_port = jr.string("port", "");
    jr.finish();
    if (!p->join_port.empty()) {
      bool known = false;
      for (auto& port : p->ports)
        known = known || port.first == p->join_port;
      if (!known)
        errors.push_back({jr.path_of("port"),
                          "must name one of the program's ports, got \"" + p->join_port + "\""});
    }
  });
  r.section("ready", [&](params_reader& rr) {
    p->ready.kind = rr.one_of("probe", {"adapter", "http", "tcp"}, "adapter");
    p->ready.port = rr.string("port", "", p->ready.kind != "adapter");
    p->ready.path = rr.string("path", "/");
    p->ready.expect = rr.string("expect", "");
    p->ready.timeout =
      to_ms(rr.dur("timeout", std::chrono::seconds(60), std::chrono::milliseconds(1)));
    p->ready.interval =
      to_ms(rr.dur("interval", std::chrono::milliseconds(250), std::chrono::milliseconds(1)));
    rr.finish();
    if (!p->ready.port.empty()) {
      bool known = false;
      for (auto& port : p->ports)
        known = known || port.first == p->ready.port;
      if (!known)
        errors.push_back(
          {rr.path_of("port"), "must name one of the program's ports, got " + echo(p->ready.port)});
    }
  });
  p->stop_grace = to_ms(r.dur("stop_grace", std::chrono::seconds(10)));
  // The adapter's own keys are checked when it is made (backends/adapters/).
  r.describe_key("adapter", {{"type", "object"},
                             {"required", {"kind"}},
                             {"properties", {{"kind", {{"enum", {"bitcoin-rpc", "http-json"}}}}}}});
  r.describe_rule({{"required", {"adapter"}}});
  if (auto v = r.raw("adapter")) {
    p->adapter = *v;
    if (!v->is_object() || !v->contains("kind") || !(*v)["kind"].is_string() ||
        ((*v)["kind"] != "bitcoin-rpc" && (*v)["kind"] != "http-json"))
      r.error("adapter", "must be an object whose \"kind\" is bitcoin-rpc or http-json, got " +
                           describe_json(*v));
  } else {
    r.error("adapter", "is required: how troupe talks to the node (bitcoin-rpc or http-json)");
  }
  if (r.section("blocks", [&](params_reader& br) {
        br.one_of("driver", {"slot-lottery"}, "slot-lottery", true);
        br.strings("roles");
        br.allow({"slot", "active_slot_coeff"});
        br.finish();
      }))
    p->blocks = r.object()["blocks"];
  if (r.section("wallet", [&](params_reader& wr) {
        wr.allow({"name", "mature_blocks", "utxos_per_node", "utxo_amount"});
        wr.finish();
      }))
    p->wallet = r.object()["wallet"];
  r.section("metrics", [&](params_reader& mr) {
    metrics_endpoint m;
    m.port = mr.string("port", "", true);
    m.path = mr.string("path", m.path);
    m.series = mr.strings("series");
    mr.finish();
    if (!m.path.empty() && m.path[0] != '/')
      errors.push_back({mr.path_of("path"), "must start with '/', got " + echo(m.path)});
    if (!m.port.empty()) {
      bool known = false;
      for (auto& port : p->ports)
        known = known || port.first == m.port;
      if (!known)
        errors.push_back(
          {mr.path_of("port"), "must name one of the program's ports, got " + echo(m.port)});
    }
    for (size_t i = 0; i < m.series.size(); ++i) {
      std::string why;
      if (!parse_series_selector(m.series[i], &why))
        errors.push_back(
          {mr.path_of("series") + "[" + std::to_string(i) + "]", echo(m.series[i]) + " " + why});
    }
    p->metrics = m;
  });
  r.section("image", [&](params_reader& ir) {
    program_image im;
    im.name = ir.string("name", "", true);
    im.command = ir.string("command", "");
    ir.finish();
    if (!im.command.empty() && im.command[0] != '/')
      errors.push_back({ir.path_of("command"),
                        "must be an absolute path inside the image, got " + echo(im.command)});
    p->image = im;
  });
  r.finish();
}

program_ptr parse_program(const nlohmann::json& doc, const std::string& where) {
  std::vector<validation_error> errors;
  auto p = std::make_shared<program>();
  params_reader r{doc, where, errors};
  read_program(r, *p);
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  return p;
}

// -- node params ----------------------------------------------------------------

void validate_params(const program& p, params_reader& r) {
  for (auto& [key, pp] : p.params) {
    auto k = key.c_str();
    if (!r.given(k)) {
      r.allow({k});
      continue;
    }
    auto lo = pp.min.value_or(-std::numeric_limits<double>::max());
    auto hi = pp.max.value_or(std::numeric_limits<double>::max());
    // The declared default is what the schema shows (the value read is not used here).
    if (pp.is_duration)
      r.dur(k, parse_duration(pp.fallback.get<std::string>()).value_or(duration::zero()));
    else if (pp.fallback.is_boolean())
      r.boolean(k, pp.fallback.get<bool>());
    else if (pp.fallback.is_number_integer())
      r.integer(k, pp.fallback.get<int64_t>(), static_cast<int64_t>(std::max(lo, -9e18)),
                static_cast<int64_t>(std::min(hi, 9e18)));
    else if (pp.fallback.is_number())
      r.number(k, pp.fallback.get<double>(), lo, hi);
    else
      r.string(k, pp.fallback.is_string() ? pp.fallback.get<std::string>() : "");
  }
  r.finish();
}

std::map<std::string, std::string> param_values(const program& p,
                                                const nlohmann::json& node_params) {
  std::map<std::string, std::string> out;
  for (auto& [key, pp] : p.params) {
    auto v = pp.fallback;
    if (node_params.is_object() && node_params.contains(key))
      v = node_params[key];
    if (v.is_string())
      out[key] = v.get<std::string>();
    else
      out[key] = v.dump();
  }
  return out;
}

std::string resolve_binary(const program& p) {
  auto fix = p.package.empty()
               ? std::string("install it or put it on PATH")
               : "install the Debian package " + p.package + " (apt-get install " + p.package + ")";
  if (p.binary.find('/') != std::string::npos) {
    if (::access(p.binary.c_str(), X_OK) == 0)
      return fs::absolute(p.binary).string();
    throw user_error("program " + p.name + " needs " + p.binary +
                     ", which does not exist or is not executable: " + fix);
  }
  if (auto found = find_on_path(p.binary); !found.empty())
    return found;
  throw user_error("program " + p.name + " needs the executable " + p.binary +
                   ", which is not on PATH: " + fix);
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    if (!dir.empty()) {
      auto candidate = fs::path{dir} / name;
      if (::access(candidate.c_str(), X_OK) == 0)
        return fs::absolute(candidate).string();
    }
    start = end + 1;
  }
  return {};
}

} // namespace troupe::backends::local
