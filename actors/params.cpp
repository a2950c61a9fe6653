#include "actors/params.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "actors/echo.hpp"

namespace troupe {

std::string describe_json(const nlohmann::json& v) { return echo_json(v); }

std::string join_path(const std::string& base, const std::string& key) {
  return join_key(base, key);
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// A JSON Schema bound, or null when the bound says nothing (the whole range of a double).
nlohmann::json schema_bound(double b) {
  if (!std::isfinite(b) || std::fabs(b) >= DBL_MAX)
    return nullptr;
  if (b == std::floor(b) && std::fabs(b) < 9e15)
    return static_cast<int64_t>(b);
  return b;
}

} // namespace

// -- describe mode ------------------------------------------------------------------

struct params_reader::describe_state {
  describe_state()
    : seed(nlohmann::json::object()) {}
  struct choice {
    std::string key;
    std::vector<std::pair<nlohmann::json, nlohmann::json>> values; ///< (value, condition)
  };
  nlohmann::json seed;
  nlohmann::json properties = nlohmann::json::object();
  std::vector<std::string> required;
  std::vector<nlohmann::json> rules;
  std::vector<choice> choices;
  bool closed = false;
  std::vector<validation_error> errors; ///< what describe mode reads is never reported

  nlohmann::json schema() const {
    nlohmann::json s{{"type", "object"}, {"properties", properties}};
    if (!required.empty())
      s["required"] = required;
    if (closed)
      s["additionalProperties"] = false;
    if (!rules.empty())
      s["allOf"] = rules;
    return s;
  }
};

params_reader::params_reader(std::shared_ptr<describe_state> d)
  : obj_(d->seed)
  , errors_(d->errors)
  , is_object_(true)
  , describe_(std::move(d)) {}

params_reader params_reader::describer() {
  return params_reader{std::make_shared<describe_state>()};
}

nlohmann::json params_reader::schema() const {
  return describe_ ? describe_->schema() : nlohmann::json(true);
}

void params_reader::note(const char* key, nlohmann::json schema, bool required) {
  if (!describe_)
    return;
  describe_->properties[key] = std::move(schema);
  auto& req = describe_->required;
  if (required && std::find(req.begin(), req.end(), key) == req.end())
    req.push_back(key);
}

void params_reader::describe_key(const char* key, const nlohmann::json& fragment) {
  if (!describe_)
    return;
  auto& p = describe_->properties[key];
  if (!p.is_object())
    p = nlohmann::json::object();
  for (auto it = fragment.begin(); it != fragment.end(); ++it)
    p[it.key()] = it.value();
}

void params_reader::describe_rule(nlohmann::json rule) {
  if (describe_)
    describe_->rules.push_back(std::move(rule));
}

void params_reader::describe_choices(
  const char* key, std::vector<std::pair<nlohmann::json, nlohmann::json>> values) {
  if (!describe_)
    return;
  bool consts = true;
  auto conditions = nlohmann::json::array();
  auto names = nlohmann::json::array();
  for (const auto& [value, condition] : values) {
    consts = consts && condition.size() == 1 && condition.contains("const");
    conditions.push_back(condition);
    if (condition.contains("const"))
      names.push_back(condition["const"]);
  }
  if (consts)
    describe_key(key, {{"enum", names}});
  else
    describe_key(key, {{"anyOf", conditions}});
  for (const auto& c : describe_->choices)
    if (c.key == key)
      return;
  describe_->choices.push_back({key, std::move(values)});
}

nlohmann::json params_reader::describe(const std::function<void(params_reader&)>& read,
                                       const nlohmann::json& seed) {
  using nlohmann::json;
  auto d = std::make_shared<describe_state>();
  d->seed = seed.is_object() ? seed : json::object();
  params_reader r{d};
  read(r);
  json plain = d->schema();
  // A choice whose values change what else is read becomes one branch per value; one that
  // changes nothing (a metric's "op") stays a plain enum.
  for (const auto& c : d->choices) {
    if (d->seed.contains(c.key))
      continue;
    std::vector<std::pair<json, json>> branches;
    bool differs = false;
    for (const auto& [value, condition] : c.values) {
      json with = d->seed;
      with[c.key] = value;
      auto branch = describe(read, with);
      differs = differs || branch != plain;
      branches.emplace_back(condition, std::move(branch));
    }
    if (!differs)
      continue;
    const auto& req = d->required;
    const bool required = std::find(req.begin(), req.end(), c.key) != req.end();
    json out{{"type", "object"}, {"properties", {{c.key, plain["properties"][c.key]}}}};
    if (required)
      out["required"] = {c.key};
    auto all = json::array();
    for (auto& [condition, branch] : branches)
      all.push_back({{"if", {{"properties", {{c.key, condition}}}, {"required", {c.key}}}},
                     {"then", std::move(branch)}});
    // Absent, the key takes its default: what the reader read without it.
    if (!required)
      all.push_back({{"if", {{"not", {{"required", {c.key}}}}}}, {"then", plain}});
    out["allOf"] = std::move(all);
    return out;
  }
  return plain;
}

bool params_reader::section(const char* key, const std::function<void(params_reader&)>& read,
                            const char* required) {
  if (describe_) {
    known_.insert(key);
    note(key, describe(read), required != nullptr);
    return false;
  }
  auto v = take(key, false, "");
  if (!v) {
    if (required)
      error(key, std::string("is required: ") + required);
    return false;
  }
  params_reader q{*v, path_of(key), errors_};
  read(q);
  return true;
}

void params_reader::items(const char* key, const char* what,
                          const std::function<void(params_reader&)>& read, const char* required) {
  if (describe_) {
    known_.insert(key);
    note(key, {{"type", "array"}, {"items", describe(read)}}, required != nullptr);
    return;
  }
  auto v = take(key, false, "");
  if (!v) {
    if (required)
      error(key, std::string("is required: ") + required);
    return;
  }
  if (!v->is_array()) {
    error(key, std::string("must be ") + what + ", got " + describe_json(*v));
    return;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    params_reader q{(*v)[i], path_of(key) + "[" + std::to_string(i) + "]", errors_};
    read(q);
  }
}

// -- reading ------------------------------------------------------------------------

params_reader::params_reader(const nlohmann::json& obj, std::string path,
                             std::vector<validation_error>& errors)
  : obj_(obj)
  , path_(std::move(path))
  , errors_(errors)
  , is_object_(obj.is_object()) {
  if (!is_object_)
    errors_.push_back({path_, "must be an object, got " + describe_json(obj)});
}

bool params_reader::has(const char* key) const { return is_object_ && obj_.contains(key); }

bool params_reader::given(const char* key) const { return describing() || has(key); }

void params_reader::error(const char* key, const std::string& message) {
  errors_.push_back({path_of(key), message});
}

const nlohmann::json* params_reader::take(const char* key, bool required, const char* what) {
  known_.insert(key);
  if (!is_object_)
    return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end()) {
    if (required)
      errors_.push_back({path_of(key), std::string("is required: ") + what});
    return nullptr;
  }
  return &*it;
}

std::string params_reader::string(const char* key, const std::string& fallback, bool required) {
  if (describe_) {
    nlohmann::json d{{"type", "string"}};
    if (!required && !fallback.empty())
      d["default"] = fallback;
    note(key, std::move(d), required);
  }
  auto v = take(key, required, "a string");
  if (!v)
    return fallback;
  if (!v->is_string()) {
    error(key, "must be a string, got " + describe_json(*v));
    return fallback;
  }
  return v->get<std::string>();
}

std::string params_reader::one_of(const char* key, std::initializer_list<const char*> allowed,
                                  const std::string& fallback, bool required) {
  std::string list;
  for (auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  if (describe_) {
    nlohmann::json d{{"enum", nlohmann::json::array()}};
    std::vector<std::pair<nlohmann::json, nlohmann::json>> values;
    for (auto a : allowed) {
      d["enum"].push_back(a);
      values.emplace_back(a, nlohmann::json{{"const", a}});
    }
    if (!required && !fallback.empty())
      d["default"] = fallback;
    note(key, std::move(d), required);
    if (!obj_.contains(key))
      describe_choices(key, std::move(values));
  }
  auto v = take(key, required, ("one of " + list).c_str());
  if (!v)
    return fallback;
  if (v->is_string())
    for (auto a : allowed)
      if (v->get<std::string>() == a)
        return a;
  error(key, "must be one of " + list + ", got " + describe_json(*v));
  return fallback;
}

int64_t params_reader::integer(const char* key, int64_t fallback, int64_t min, int64_t max,
                               bool required) {
  if (describe_) {
    nlohmann::json d{{"type", "integer"}, {"minimum", min}};
    if (max != INT64_MAX)
      d["maximum"] = max;
    if (!required)
      d["default"] = fallback;
    note(key, std::move(d), required);
  }
  auto v = take(key, required, "an integer");
  if (!v)
    return fallback;
  auto range = [&] {
    if (max == INT64_MAX)
      return "an integer >= " + std::to_string(min);
    return "an integer in " + std::to_string(min) + ".." + std::to_string(max);
  };
  if (!v->is_number_integer()) {
    error(key, "must be " + range() + ", got " + describe_json(*v));
    return fallback;
  }
  // Unsigned values above INT64_MAX are out of every range we accept.
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    error(key, "must be " + range() + ", got " + describe_json(*v));
    return fallback;
  }
  auto n = v->get<int64_t>();
  if (n < min || n > max) {
    error(key, "must be " + range() + ", got " + std::to_string(n));
    return fallback;
  }
  return n;
}

double params_reader::number(const char* key, double fallback, double min, double max,
                             bool required) {
  if (describe_) {
    nlohmann::json d{{"type", "number"}};
    if (auto b = schema_bound(min); !b.is_null())
      d["minimum"] = b;
    if (auto b = schema_bound(max); !b.is_null())
      d["maximum"] = b;
    if (!required)
      d["default"] = schema_bound(fallback);
    note(key, std::move(d), required);
  }
  auto v = take(key, required, "a number");
  if (!v)
    return fallback;
  // Whole bounds print as integers ("0..100", not "0.0..100.0").
  auto bound = [](double b) {
    return b == std::floor(b) && std::fabs(b) < 1e15 ? std::to_string(static_cast<int64_t>(b))
                                                     : describe_json(b);
  };
  auto allowed = [&] { return "a number in " + bound(min) + ".." + bound(max); };
  if (!v->is_number()) {
    error(key, "must be " + allowed() + ", got " + describe_json(*v));
    return fallback;
  }
  auto n = v->get<double>();
  if (n < min || n > max) {
    error(key, "must be " + allowed() + ", got " + describe_json(*v));
    return fallback;
  }
  return n;
}

double params_reader::probability(const char* key, double fallback) {
  note(key, {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"default", fallback}}, false);
  auto v = take(key, false, "a probability");
  if (!v)
    return fallback;
  if (!v->is_number() || v->get<double>() < 0.0 || v->get<double>() > 1.0) {
    error(key, "must be a probability in 0..1, got " + describe_json(*v));
    return fallback;
  }
  return v->get<double>();
}

bool params_reader::boolean(const char* key, bool fallback) {
  note(key, {{"type", "boolean"}, {"default", fallback}}, false);
  auto v = take(key, false, "true or false");
  if (!v)
    return fallback;
  if (!v->is_boolean()) {
    error(key, "must be true or false, got " + describe_json(*v));
    return fallback;
  }
  return v->get<bool>();
}

duration params_reader::dur(const char* key, duration fallback, duration min, bool required) {
  if (describe_) {
    nlohmann::json d{
      {"type", "string"},
      {"pattern", duration_pattern},
      {"description", min > duration::zero()
                        ? "a duration like 250ms, 2s, 10m or 1h, at least " + format_duration(min)
                        : std::string("a duration like 250ms, 2s, 10m or 1h")}};
    if (!required)
      d["default"] = format_duration(fallback);
    note(key, std::move(d), required);
  }
  auto v = take(key, required, "a duration like 250ms, 2s, 10m or 1h");
  if (!v)
    return fallback;
  std::optional<duration> d;
  if (v->is_string())
    d = parse_duration(v->get<std::string>());
  if (!d) {
    error(key, "must be a duration like 250ms, 2s, 10m or 1h, got " + describe_json(*v));
    return fallback;
  }
  if (*d < min) {
    error(key, "must be a duration >= " + format_duration(min) + ", got " + describe_json(*v));
    return fallback;
  }
  return *d;
}

double params_reader::rate(const char* key, double fallback, bool required) {
  if (describe_) {
    nlohmann::json d{{"type", "string"},
                     {"pattern", rate_pattern},
                     {"description", "a rate like 10/s, 600/m or 2/h"}};
    if (!required)
      d["default"] = format_rate(fallback);
    note(key, std::move(d), required);
  }
  auto v = take(key, required, "a rate like 10/s");
  if (!v)
    return fallback;
  std::optional<double> r;
  if (v->is_string())
    r = parse_rate(v->get<std::string>());
  if (!r) {
    error(key, "must be a rate like 10/s, 600/m or 2/h, got " + describe_json(*v));
    return fallback;
  }
  return *r;
}

uint64_t params_reader::bandwidth(const char* key, uint64_t fallback) {
  if (describe_) {
    nlohmann::json d{{"type", "string"},
                     {"pattern", bandwidth_pattern},
                     {"description", "a bandwidth like 500kbps, 10Mbps or 1Gbps"}};
    if (fallback > 0)
      d["default"] = format_bandwidth(fallback);
    note(key, std::move(d), false);
  }
  auto v = take(key, false, "a bandwidth like 10Mbps");
  if (!v)
    return fallback;
  std::optional<uint64_t> b;
  if (v->is_string())
    b = parse_bandwidth(v->get<std::string>());
  if (!b) {
    error(key, "must be a bandwidth like 500kbps, 10Mbps or 1Gbps, got " + describe_json(*v));
    return fallback;
  }
  return *b;
}

std::vector<std::string> params_reader::strings(const char* key) {
  note(key, {{"type", "array"}, {"items", {{"type", "string"}}}}, false);
  auto v = take(key, false, "a list of strings");
  std::vector<std::string> out;
  if (!v)
    return out;
  if (!v->is_array()) {
    error(key, "must be a list of strings, got " + describe_json(*v));
    return out;
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& e = (*v)[i];
    if (!e.is_string()) {
      errors_.push_back({path_of(key) + "[" + std::to_string(i) + "]",
                         "must be a string, got " + describe_json(e)});
      continue;
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::string> params_reader::selectors(const char* key) {
  if (describe_) {
    strings(key);
    note(key,
         {{"anyOf", {{{"type", "string"}}, {{"type", "array"}, {"items", {{"type", "string"}}}}}},
          {"description", "\"all\", a group name, a node id or a list of them"}},
         false);
    return {};
  }
  if (auto v = is_object_ ? obj_.find(key) : obj_.end();
      is_object_ && v != obj_.end() && !v->is_array()) {
    known_.insert(key);
    if (v->is_string())
      return {v->get<std::string>()};
    error(key,
          "must be \"all\", a group name, a node id or a list of them, got " + describe_json(*v));
    return {};
  }
  return strings(key);
}

const nlohmann::json* params_reader::raw(const char* key) {
  // Any value, unless the caller describes it (describe_key, section, items).
  if (describe_ && !describe_->properties.contains(key))
    describe_->properties[key] = true;
  return take(key, false, "");
}

void params_reader::allow(std::initializer_list<const char*> keys) {
  for (auto k : keys) {
    known_.insert(k);
    if (describe_ && !describe_->properties.contains(k))
      describe_->properties[k] = true;
  }
}

void params_reader::finish() { finish_with({}); }

void params_reader::finish_with(const std::vector<const params_reader*>& others) {
  if (describe_) {
    // Keys the other readers know are allowed here too (their readers type them).
    for (auto o : others)
      for (const auto& k : o->known())
        if (!describe_->properties.contains(k))
          describe_->properties[k] = true;
    describe_->closed = true;
    return;
  }
  if (!is_object_)
    return;
  std::set<std::string> all = known_;
  for (auto o : others)
    all.insert(o->known().begin(), o->known().end());
  std::string allowed;
  for (const auto& k : all)
    allowed += (allowed.empty() ? "" : ", ") + k;
  // nlohmann::json objects iterate in key order: the report is stable.
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    if (all.count(it.key()))
      continue;
    // A typo is the usual cause: name the closest allowed key. The distance is at least the
    // difference in length, so a megabyte-long key costs nothing to rule out.
    std::string hint;
    size_t best = 3;
    for (const auto& k : all)
      if (auto d = it.key().size() >= k.size() + best ? best : edit_distance(it.key(), k);
          d < best) {
        best = d;
        hint = "did you mean \"" + k + "\"? ";
      }
    errors_.push_back({join_path(path_, it.key()), "unknown key; " + hint + "allowed here: " +
                                                     (allowed.empty() ? "none" : allowed)});
  }
}

} // namespace troupe
