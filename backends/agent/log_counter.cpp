#include "backends/agent/log_counter.hpp"

#include <stdexcept>

#include "backends/agent/protocol.hpp"

namespace troupe::backends::agent {

using nlohmann::json;

namespace {

log_regex compiled(const log_pattern_spec& s) {
  std::string why;
  auto re = compile_log_pattern(s.pattern, s.ignore_case, why);
  if (!re)
    throw std::invalid_argument("the log pattern \"" + s.pattern.substr(0, 80) + "\" " + why);
  return re;
}

json examples_json(const std::vector<log_line_match>& examples) {
  json out = json::array();
  for (const auto& e : examples)
    out.push_back(json{{"line", e.line_number}, {"text", e.text}});
  return out;
}

} // namespace

// -- log_pattern_count ----------------------------------------------------------

log_pattern_count::log_pattern_count(log_pattern_spec spec, const std::filesystem::path& log)
  : spec_(std::move(spec))
  , follow_(log)
  , matches_(compiled(spec_))
  , split_([this](const std::string& line, uint64_t number) { matches_.line(line, number); }) {}

void log_pattern_count::scan() {
  follow_.read_new([this](const char* data, size_t n) { split_.feed(data, n); });
}

bool log_pattern_count::examples_changed() const noexcept {
  return !reported_ || matches_.examples().size() != reported_examples_;
}

bool log_pattern_count::changed() const noexcept {
  return !reported_ || matches_.count() != reported_matches_ ||
         matches_.examples().size() != reported_examples_;
}

json log_pattern_count::report(bool with_examples) {
  json out{{"pattern", spec_.pattern},        {"ignore_case", spec_.ignore_case},
           {"matches", matches_.count()},     {"lines", split_.lines()},
           {"lines_cut", split_.lines_cut()}, {"bytes", follow_.bytes()},
           {"exists", follow_.seen()}};
  if (with_examples)
    out["examples"] = examples_json(matches_.examples());
  reported_ = true;
  reported_matches_ = matches_.count();
  reported_examples_ = matches_.examples().size();
  return out;
}

log_scan_result log_pattern_count::result() const {
  log_scan_result r;
  r.exists = follow_.seen();
  r.bytes = follow_.bytes();
  r.lines = split_.lines();
  r.lines_cut = split_.lines_cut();
  r.matches = matches_.count();
  r.examples = matches_.examples();
  return r;
}

// -- log_counter ----------------------------------------------------------------

log_counter::log_counter(send_fn send)
  : send_(std::move(send))
  , thread_([this] { loop(); }) {}

log_counter::~log_counter() { stop(); }

void log_counter::count(size_t slot, const std::string& id, const std::filesystem::path& log,
                        const std::vector<log_pattern_spec>& specs) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto& n = nodes_[slot];
  n.id = id;
  n.log = log;
  for (const auto& s : specs) {
    bool known = false;
    for (const auto& p : n.patterns)
      known = known || p->spec() == s;
    if (known)
      continue;
    if (n.patterns.size() >= log_patterns_max)
      throw std::invalid_argument(id + " has " + std::to_string(log_patterns_max) +
                                  " log patterns counted already, the limit");
    n.patterns.push_back(std::make_unique<log_pattern_count>(s, log));
    n.patterns.back()->scan();
  }
  changed_.notify_all();
}

json log_counter::report(size_t slot, const std::vector<log_pattern_spec>& specs) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = nodes_.find(slot);
  if (it == nodes_.end() || it->second.patterns.empty())
    throw std::invalid_argument("no log pattern is counted for slot " + std::to_string(slot) +
                                ": name the patterns to count");
  auto& n = it->second;
  json patterns = json::array();
  auto add = [&](log_pattern_count& p) {
    p.scan();
    patterns.push_back(p.report(true));
  };
  if (specs.empty())
    for (auto& p : n.patterns)
      add(*p);
  for (const auto& s : specs) {
    log_pattern_count* found = nullptr;
    for (auto& p : n.patterns)
      if (p->spec() == s)
        found = p.get();
    if (!found)
      throw std::invalid_argument("the log pattern \"" + s.pattern.substr(0, 80) +
                                  "\" is not counted for " + n.id);
    add(*found);
  }
  return json{{"slot", slot}, {"id", n.id}, {"patterns", std::move(patterns)}};
}

void log_counter::set_interval(std::chrono::milliseconds every) {
  std::lock_guard<std::mutex> guard{mutex_};
  interval_ = std::max(every, std::chrono::milliseconds(10));
  changed_.notify_all();
}

void log_counter::clear() {
  std::lock_guard<std::mutex> guard{mutex_};
  nodes_.clear();
}

void log_counter::stop() noexcept {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable())
    thread_.join();
}

std::vector<json> log_counter::scan_all_locked() {
  std::vector<json> events;
  for (auto& [slot, n] : nodes_) {
    json patterns = json::array();
    for (auto& p : n.patterns) {
      p->scan();
      if (p->changed()) {
        // Examples only when there are new ones (the first few): then counts alone.
        patterns.push_back(p->report(p->examples_changed()));
      }
    }
    if (!patterns.empty())
      events.push_back(json{{"slot", slot}, {"id", n.id}, {"patterns", std::move(patterns)}});
  }
  return events;
}

void log_counter::loop() {
  std::unique_lock<std::mutex> lock{mutex_};
  while (!stopping_) {
    if (nodes_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto events = scan_all_locked();
    lock.unlock();
    for (const auto& e : events)
      send_(e);
    lock.lock();
    if (!stopping_)
      changed_.wait_for(lock, interval_);
  }
}

// -- the orchestrator's side ------------------------------------------------------

log_scan_result log_scan_from_json(const json& j) {
  log_scan_result r;
  r.matches = field<uint64_t>(j, "matches");
  r.lines = field_or<uint64_t>(j, "lines", 0);
  r.lines_cut = field_or<uint64_t>(j, "lines_cut", 0);
  r.bytes = field_or<uint64_t>(j, "bytes", 0);
  r.exists = field_or<bool>(j, "exists", true);
  for (const auto& e : field_or<json>(j, "examples", json::array()))
    r.examples.push_back({field<uint64_t>(e, "line"), field<std::string>(e, "text")});
  return r;
}

} // namespace troupe::backends::agent
