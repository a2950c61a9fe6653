#include "actors/scenario/vary.hpp"

#include <cmath>
#include <sstream>

#include "actors/echo.hpp"
#include "actors/random.hpp"
#include "actors/units.hpp"

namespace troupe {

namespace {

using nlohmann::json;

/// "restarts.delay_max" -> {"restarts", "delay_max"}.
std::pair<std::string, std::string> split_key(const std::string& key) {
  auto dot = key.find('.');
  if (dot == std::string::npos)
    return {key, ""};
  return {key.substr(0, dot), key.substr(dot + 1)};
}

/// 0.01, 100000: numbers as a person writes them (std::to_string would say 0.010000).
std::string num_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void check_range(params_reader& r, const std::string& path, const vary_key& k, const json& v) {
  auto& errors = r.errors();
  const std::string unit = k.is_duration ? "durations like \"10s\""
                                         : "numbers in " + num_text(k.min) + ".." + num_text(k.max);
  if (!v.is_array() || v.size() != 2) {
    errors.push_back({path, "must be [min, max] (" + unit + "), got " + describe_json(v)});
    return;
  }
  if (k.is_duration) {
    std::optional<duration> lo, hi;
    if (v[0].is_string())
      lo = parse_duration(v[0].get<std::string>());
    if (v[1].is_string())
      hi = parse_duration(v[1].get<std::string>());
    if (!lo || !hi || lo->count() <= 0)
      errors.push_back(
        {path, "must be [min, max] of " + unit + " above zero, got " + describe_json(v)});
    else if (*hi < *lo)
      errors.push_back({path, "max must be >= min, got " + describe_json(v)});
    return;
  }
  if (!v[0].is_number() || !v[1].is_number()) {
    errors.push_back({path, "must be [min, max] of " + unit + ", got " + describe_json(v)});
    return;
  }
  const double lo = v[0].get<double>(), hi = v[1].get<double>();
  if (lo < k.min || hi > k.max)
    errors.push_back({path, "must lie within " + num_text(k.min) + ".." + num_text(k.max) +
                              ", got " + describe_json(v)});
  else if (hi < lo)
    errors.push_back({path, "max must be >= min, got " + describe_json(v)});
}

json draw(const json& range, uint64_t seed, const std::string& stream) {
  auto g = rng::stream(seed, stream);
  if (range[0].is_string()) {
    const auto lo = parse_duration(range[0].get<std::string>())->count();
    const auto hi = parse_duration(range[1].get<std::string>())->count();
    // Whole milliseconds when both ends are: the drawn value reads like the ranges did.
    const int64_t step = lo % 1'000'000 == 0 && hi % 1'000'000 == 0 ? 1'000'000 : 1;
    return format_duration(duration{g.between(lo / step, hi / step) * step});
  }
  if (range[0].is_number_integer() && range[1].is_number_integer())
    return g.between(range[0].get<int64_t>(), range[1].get<int64_t>());
  const double lo = range[0].get<double>(), hi = range[1].get<double>();
  // Four decimals: enough to spread a swarm, short enough to read in a report.
  return std::round((lo + g.uniform01() * (hi - lo)) * 1e4) / 1e4;
}

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

/// Two drawn ends of one range (`delay_min` and `delay_max`) are put in order, so that every
/// draw is a valid schedule.
void order_pairs(json& section) {
  for (auto it = section.begin(); it != section.end(); ++it) {
    const std::string& k = it.key();
    if (k.size() < 4 || k.compare(k.size() - 4, 4, "_min") != 0)
      continue;
    const std::string max_key = k.substr(0, k.size() - 4) + "_max";
    if (!section.contains(max_key))
      continue;
    json& lo = it.value();
    json& hi = section[max_key];
    const bool swap = lo.is_string() ? *parse_duration(lo.get<std::string>()) >
                                         *parse_duration(hi.get<std::string>())
                                     : lo.get<double>() > hi.get<double>();
    if (swap)
      std::swap(lo, hi);
  }
}

} // namespace

void read_vary(params_reader& r, const std::vector<vary_key>& keys) {
  std::vector<std::string> names;
  for (const auto& k : keys)
    names.push_back(k.key);
  json props = json::object();
  for (const auto& k : keys)
    props[k.key] = {{"type", "array"},
                    {"minItems", 2},
                    {"maxItems", 2},
                    {"items", {{"type", k.is_duration ? "string" : "number"}}}};
  r.describe_key("vary", {{"type", "object"},
                          {"description", "[min, max] per parameter, drawn from the seed "
                                          "with --vary"},
                          {"properties", props},
                          {"additionalProperties", false}});
  const json* v = r.raw("vary");
  if (!v || r.describing())
    return;
  const std::string path = r.path_of("vary");
  if (!v->is_object()) {
    r.errors().push_back({path, "must be an object of \"<section>.<parameter>\": [min, max], "
                                "got " +
                                  describe_json(*v)});
    return;
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    const std::string at = join_path(path, it.key());
    const vary_key* k = nullptr;
    for (const auto& c : keys)
      if (c.key == it.key())
        k = &c;
    if (!k) {
      r.errors().push_back({at, "cannot be varied; allowed: " + join(names, ", ")});
      continue;
    }
    const auto section = split_key(k->key).first;
    if (!r.object().contains(section))
      r.errors().push_back({at, "varies \"" + section +
                                  "\", which this workload does not "
                                  "have; add a \"" +
                                  section + "\" section or drop the range"});
    check_range(r, at, *k, it.value());
  }
}

json apply_vary(scenario& s, uint64_t seed) {
  json drawn = json::object();
  for (auto& w : s.workloads) {
    if (!w.params.is_object() || !w.params.contains("vary"))
      continue;
    const json ranges = w.params["vary"];
    w.params.erase("vary");
    for (auto it = ranges.begin(); it != ranges.end(); ++it) {
      auto [section, param] = split_key(it.key());
      json value = draw(it.value(), seed, "vary/" + w.name + "/" + it.key());
      w.params[section][param] = value;
    }
    for (auto it = ranges.begin(); it != ranges.end(); ++it) {
      const auto section = split_key(it.key()).first;
      if (w.params[section].is_object())
        order_pairs(w.params[section]);
    }
    for (auto it = ranges.begin(); it != ranges.end(); ++it) {
      auto [section, param] = split_key(it.key());
      drawn[w.name][it.key()] = w.params[section][param];
    }
  }
  return drawn;
}

} // namespace troupe
