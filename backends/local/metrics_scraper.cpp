#include "backends/local/metrics_scraper.hpp"

#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace troupe::backends::local {

using nlohmann::json;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// -- the text exposition format -------------------------------------------------------------

namespace {

bool metric_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

void skip_space(const std::string& s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
    ++i;
}

std::string next_token(const std::string& s, size_t& i) {
  skip_space(s, i);
  size_t start = i;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t')
    ++i;
  return s.substr(start, i - start);
}

/// Parses a sample value: a float, +Inf, -Inf or NaN (strtod accepts all, any case).
std::optional<double> parse_value(const std::string& token) {
  if (token.empty())
    return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(token.c_str(), &end);
  if (end != token.c_str() + token.size())
    return std::nullopt;
  return v;
}

/// Parses `{a="x",b="y\"z"}` from s[i] == '{'; leaves i after '}'.
bool parse_labels(const std::string& s, size_t& i,
                  std::vector<std::pair<std::string, std::string>>& out) {
  ++i; // '{'
  for (;;) {
    skip_space(s, i);
    if (i < s.size() && s[i] == '}') {
      ++i;
      return true;
    }
    size_t start = i;
    while (i < s.size() && metric_char(s[i]) && s[i] != ':')
      ++i;
    if (i == start)
      return false;
    auto label = s.substr(start, i - start);
    skip_space(s, i);
    if (i >= s.size() || s[i] != '=')
      return false;
    ++i;
    skip_space(s, i);
    auto value = read_label_value(s, i);
    if (!value)
      return false;
    out.emplace_back(std::move(label), std::move(*value));
    skip_space(s, i);
    if (i < s.size() && s[i] == ',')
      ++i; // a trailing comma before '}' is allowed
    else if (i >= s.size() || s[i] != '}')
      return false;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

exposition parse_exposition(const std::string& text) {
  exposition out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos)
      eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    size_t i = 0;
    skip_space(line, i);
    if (i == line.size())
      continue;
    if (line[i] == '#') {
      ++i;
      if (next_token(line, i) == "TYPE") {
        auto name = next_token(line, i);
        auto type = next_token(line, i);
        if (!name.empty() && !type.empty())
          out.types[name] = type;
      }
      continue; // HELP and any other comment
    }
    metric_sample m;
    size_t start = i;
    while (i < line.size() && metric_char(line[i]))
      ++i;
    m.name = line.substr(start, i - start);
    if (!valid_metric_name(m.name)) {
      ++out.bad_lines;
      continue;
    }
    skip_space(line, i);
    if (i < line.size() && line[i] == '{' && !parse_labels(line, i, m.labels)) {
      ++out.bad_lines;
      continue;
    }
    auto value = parse_value(next_token(line, i));
    auto timestamp = next_token(line, i); // optional, ignored: we time the scrape
    skip_space(line, i);
    if (!value || i != line.size() || (!timestamp.empty() && !parse_value(timestamp))) {
      ++out.bad_lines;
      continue;
    }
    m.value = *value;
    out.samples.push_back(std::move(m));
  }
  return out;
}

std::optional<double> select_sum(const exposition& e, const series_selector& sel) {
  std::optional<double> sum;
  for (const auto& s : e.samples) {
    if (s.name != sel.name || !std::isfinite(s.value))
      continue;
    bool match = true;
    for (const auto& want : sel.labels) {
      auto it = std::find(s.labels.begin(), s.labels.end(), want);
      match = match && it != s.labels.end();
    }
    if (match)
      sum = sum.value_or(0.0) + s.value;
  }
  return sum;
}

bool is_counter(const exposition& e, const std::string& name) {
  if (ends_with(name, "_total"))
    return true;
  auto type = [&](const std::string& family) {
    auto it = e.types.find(family);
    return it == e.types.end() ? std::string{} : it->second;
  };
  if (type(name) == "counter")
    return true;
  for (const char* suffix : {"_bucket", "_count", "_sum"})
    if (ends_with(name, suffix)) {
      auto t = type(name.substr(0, name.size() - std::char_traits<char>::length(suffix)));
      if (t == "histogram" || t == "summary")
        return true;
    }
  return false;
}

// -- the scraper -------------------------------------------------------------------------

metrics_scraper::metrics_scraper(world_ptr w, std::vector<scrape_target> targets, size_t points_max)
  : world_(std::move(w))
  , targets_(std::move(targets))
  , points_max_(std::max<size_t>(points_max, 16)) {
  // Every chosen series has an entry from the start, so one that never shows up is reported.
  for (const auto& t : targets_)
    for (const auto& sel : t.series)
      for (auto i : t.nodes)
        series_[sel.text()][world_->nodes[i].info.id];
  for (const auto& t : targets_)
    for (auto i : t.nodes)
      nodes_[world_->nodes[i].info.id];
}

metrics_scraper::~metrics_scraper() { stop(); }

void metrics_scraper::start() {
  if (thread_.joinable() || targets_.empty())
    return;
  origin_ = steady::now();
  thread_ = std::thread([this] { run(); });
}

void metrics_scraper::stop() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void metrics_scraper::run() {
  std::vector<steady::time_point> due(targets_.size(), origin_);
  for (;;) {
    auto next = *std::min_element(due.begin(), due.end());
    {
      std::unique_lock<std::mutex> lock{mutex_};
      if (wake_.wait_until(lock, next, [this] { return stopping_; }))
        return;
    }
    auto now = steady::now();
    const double now_s = std::chrono::duration<double>(now - origin_).count();
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (due[t] > now)
        continue;
      scrape_group(t, now_s);
      due[t] += targets_[t].every;
      // A slow scrape drops the ticks it overran instead of bunching them up.
      auto after = steady::now();
      if (due[t] <= after)
        due[t] = after + targets_[t].every;
    }
  }
}

std::optional<exposition> metrics_scraper::scrape_once(const scrape_target& t, size_t node,
                                                       std::string* error) const {
  const auto& vars = world_->nodes[node].vars;
  auto it = vars.find(t.port_name);
  if (it == vars.end()) {
    *error = "no port " + t.port_name;
    return std::nullopt;
  }
  // The node's host address (a namespaced node's ports are forwarded to 127.0.0.1, its host's).
  std::string host;
  {
    std::lock_guard<std::mutex> guard{world_->addresses_mutex}; // a replaced pod moves it
    host = world_->hosts.at(world_->nodes[node].host).reach();
  }
  httplib::Client cli{host, std::stoi(it->second)};
  // At least 1 s (a busy machine answers a 1,500-line page slowly), at most 2 s (stop()
  // waits for one GET); a GET longer than the period drops the ticks it overran.
  auto budget = std::clamp<milliseconds>(t.every, milliseconds(1000), milliseconds(2000));
  auto secs = [](milliseconds d) { return static_cast<time_t>(d.count() / 1000); };
  auto usecs = [](milliseconds d) { return static_cast<time_t>((d.count() % 1000) * 1000); };
  cli.set_connection_timeout(secs(budget), usecs(budget));
  cli.set_read_timeout(secs(budget), usecs(budget));
  cli.set_write_timeout(secs(budget), usecs(budget));
  auto res = cli.Get(t.path.c_str());
  if (!res) {
    *error = "GET " + t.path + ": " + httplib::to_string(res.error());
    return std::nullopt;
  }
  if (res->status < 200 || res->status >= 300) {
    *error = "GET " + t.path + ": HTTP " + std::to_string(res->status);
    return std::nullopt;
  }
  return parse_exposition(res->body);
}

void metrics_scraper::record(series_state& st, double t, double v) {
  if (std::isfinite(v)) {
    if (st.samples == 0) {
      st.first = st.min = st.max = v;
      st.first_t = t;
    } else {
      // A counter that went down was reset (the node restarted): it counts from zero again.
      if (v >= st.last)
        st.increase += v - st.last;
      else {
        st.increase += v;
        ++st.resets;
      }
      st.min = std::min(st.min, v);
      st.max = std::max(st.max, v);
    }
    st.last = v;
    st.last_t = t;
    ++st.samples;
  }
  // The chart keeps every stride-th point; past points_max it halves what it has and
  // doubles the stride, so a long run stays within bounds with an even spread. Gaps (NaN)
  // are kept as long as the previous point is not a gap already.
  if (!std::isfinite(v) && (st.points.empty() || !std::isfinite(st.points.back().second)))
    return;
  if (std::isfinite(v) && st.seen++ % st.stride != 0)
    return;
  st.points.emplace_back(t, v);
  if (st.points.size() > points_max_) {
    std::vector<std::pair<double, double>> kept;
    for (size_t k = 0; k < st.points.size(); k += 2)
      kept.push_back(st.points[k]);
    st.points = std::move(kept);
    st.stride *= 2;
  }
}

void metrics_scraper::scrape_group(size_t t, double now_s) {
  const auto& target = targets_[t];
  for (auto i : target.nodes) {
    const auto& id = world_->nodes[i].info.id;
    std::optional<exposition> e;
    std::string error;
    const bool up = world_->running(i);
    if (up)
      e = scrape_once(target, i, &error);
    std::lock_guard<std::mutex> guard{mutex_};
    auto& ns = nodes_[id];
    if (!up)
      ++ns.skipped_down;
    else if (!e) {
      ++ns.failed;
      ns.last_error = error;
    } else {
      ++ns.ok;
    }
    for (const auto& sel : target.series) {
      auto key = sel.text();
      auto& st = series_[key][id];
      if (!e) {
        record(st, now_s, NAN);
        continue;
      }
      auto v = select_sum(*e, sel);
      if (!v) {
        ++st.missing;
        record(st, now_s, NAN);
        continue;
      }
      if (!counter_.count(key))
        counter_[key] = is_counter(*e, sel.name);
      record(st, now_s, *v);
    }
  }
}

namespace {

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }

/// Rounds for a stable, readable report (values are floats from the node anyway).
double tidy(double v) { return std::round(v * 1e6) / 1e6; }

} // namespace

json metrics_scraper::results() const {
  std::lock_guard<std::mutex> guard{mutex_};
  json groups = json::object();
  for (const auto& t : targets_) {
    json series = json::array();
    for (const auto& s : t.series)
      series.push_back(s.text());
    json nodes = json::array();
    for (auto i : t.nodes)
      nodes.push_back(world_->nodes[i].info.id);
    groups[t.group] =
      json{{"program", t.program}, {"path", t.path},
           {"port", t.port_name},  {"every_s", std::chrono::duration<double>(t.every).count()},
           {"series", series},     {"nodes", nodes}};
  }
  json scrapes = json::object();
  uint64_t ok = 0, skipped = 0, failed = 0;
  for (const auto& [id, ns] : nodes_) {
    json n{{"ok", ns.ok}, {"skipped_down", ns.skipped_down}, {"failed", ns.failed}};
    if (!ns.last_error.empty())
      n["last_error"] = ns.last_error;
    scrapes[id] = n;
    ok += ns.ok;
    skipped += ns.skipped_down;
    failed += ns.failed;
  }
  json series = json::object();
  for (const auto& [key, per_node] : series_) {
    auto c = counter_.find(key);
    const bool counter = c != counter_.end() && c->second;
    json nodes = json::object(), points = json::object();
    double first = 0, last = 0, increase = 0, rate = 0;
    double lo = INFINITY, hi = -INFINITY;
    uint64_t samples = 0, with_samples = 0, with_rate = 0;
    for (const auto& [id, st] : per_node) {
      json pts = json::array();
      for (const auto& [pt, pv] : st.points)
        pts.push_back(json::array({tidy(pt), number_or_null(pv)}));
      points[id] = pts;
      json n{{"samples", st.samples}, {"missing", st.missing}};
      if (st.samples > 0) {
        n["first"] = st.first;
        n["last"] = st.last;
        n["min"] = st.min;
        n["max"] = st.max;
        n["first_s"] = tidy(st.first_t);
        n["last_s"] = tidy(st.last_t);
        first += st.first;
        last += st.last;
        lo = std::min(lo, st.min);
        hi = std::max(hi, st.max);
        samples += st.samples;
        ++with_samples;
      }
      if (counter) {
        n["increase"] = st.samples > 0 ? json(st.increase) : json();
        n["resets"] = st.resets;
        const double span = st.last_t - st.first_t;
        if (st.samples >= 2 && span > 0) {
          n["rate_per_s"] = tidy(st.increase / span);
          rate += st.increase / span;
          increase += st.increase;
          ++with_rate;
        } else {
          n["rate_per_s"] = nullptr;
        }
      }
      nodes[id] = n;
    }
    json total{
      {"nodes", per_node.size()}, {"nodes_with_samples", with_samples}, {"samples", samples}};
    if (with_samples > 0) {
      total["first"] = first;
      total["last"] = last;
      total["min"] = lo;
      total["max"] = hi;
    }
    if (counter) {
      total["increase"] = with_rate > 0 ? json(increase) : json();
      total["rate_per_s"] = with_rate > 0 ? json(tidy(rate)) : json();
    }
    json entry{{"kind", c == counter_.end() ? "unknown"
                        : counter           ? "counter"
                                            : "gauge"},
               {"nodes", nodes},
               {"total", total},
               {"points", points}};
    if (with_samples == 0)
      entry["note"] = "no scraped node reported this series";
    series[key] = entry;
  }
  return json{{"definition",
               "node programs' own Prometheus metrics, scraped over HTTP during the run; "
               "without labels a series is summed over its label sets; rate_per_s (counters) "
               "is the increase over the run divided by the time between the first and last "
               "sample; points are [run time s, value], null where the node was not scraped"},
              {"groups", groups},
              {"scrapes",
               json{{"ok", ok}, {"skipped_down", skipped}, {"failed", failed}, {"nodes", scrapes}}},
              {"series", series}};
}

} // namespace troupe::backends::local
