#include "actors/sync_state.hpp"

namespace troupe {

std::optional<std::string> sync_state::check_name(const std::string& what,
                                                  const std::string& name) const {
  if (name.empty())
    return what + " name is empty; name it, e.g. \"ready\"";
  if (name.size() > opts_.name_bytes_max)
    return what + " name is " + std::to_string(name.size()) + " bytes, over the limit of " +
           std::to_string(opts_.name_bytes_max) + "; use a shorter name";
  return std::nullopt;
}

std::optional<std::string> sync_state::check_room() const {
  if (where_.size() >= opts_.waiters_max)
    return "the sync service already holds " + std::to_string(opts_.waiters_max) +
           " waiters; retry after some are released";
  return std::nullopt;
}

// -- signals and barriers -----------------------------------------------------

sync_state::result sync_state::signal_entry(const std::string& state) {
  if (auto why = check_name("state", state))
    return {0, *why};
  auto it = counts_.find(state);
  if (it == counts_.end()) {
    if (counts_.size() >= opts_.states_max)
      return {0, "the sync service already holds " + std::to_string(opts_.states_max) +
                   " states; reuse a state name"};
    it = counts_.emplace(state, 0).first;
  }
  return {++it->second, {}};
}

uint64_t sync_state::count(const std::string& state) const {
  auto it = counts_.find(state);
  return it == counts_.end() ? 0 : it->second;
}

sync_state::result sync_state::barrier(const std::string& state, uint64_t target, waiter_id id,
                                       bool& released) {
  released = false;
  if (auto why = check_name("state", state))
    return {0, *why};
  const uint64_t now = count(state);
  if (now >= target) {
    released = true;
    return {now, {}};
  }
  if (auto why = check_room())
    return {now, *why};
  barriers_[state].emplace(target, id);
  where_[id] = place{true, state, target};
  return {now, {}};
}

std::vector<sync_state::waiter_id> sync_state::take_released(const std::string& state) {
  std::vector<waiter_id> out;
  auto it = barriers_.find(state);
  if (it == barriers_.end())
    return out;
  const uint64_t now = count(state);
  auto& waiting = it->second;
  while (!waiting.empty() && waiting.begin()->first <= now) {
    out.push_back(waiting.begin()->second);
    where_.erase(waiting.begin()->second);
    waiting.erase(waiting.begin());
  }
  if (waiting.empty())
    barriers_.erase(it);
  return out;
}

// -- topics -------------------------------------------------------------------

sync_state::result sync_state::publish(const std::string& topic, std::string payload) {
  if (auto why = check_name("topic", topic))
    return {0, *why};
  if (payload.size() > opts_.payload_bytes_max)
    return {0, "payload is " + std::to_string(payload.size()) + " bytes, over the limit of " +
                 std::to_string(opts_.payload_bytes_max) + "; publish a smaller one"};
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    if (topics_.size() >= opts_.topics_max)
      return {0, "the sync service already holds " + std::to_string(opts_.topics_max) +
                   " topics; reuse a topic name"};
    it = topics_.emplace(topic, std::vector<std::string>{}).first;
  }
  if (it->second.size() >= opts_.messages_per_topic_max)
    return {0, "topic \"" + topic + "\" already holds " +
                 std::to_string(opts_.messages_per_topic_max) + " payloads; use a new topic"};
  it->second.push_back(std::move(payload));
  return {it->second.size(), {}};
}

std::vector<std::string> sync_state::read(const std::string& topic, uint64_t from) const {
  std::vector<std::string> out;
  auto it = topics_.find(topic);
  if (it == topics_.end())
    return out;
  const auto& v = it->second;
  for (uint64_t seq = from == 0 ? 1 : from; seq <= v.size() && out.size() < opts_.read_messages_max;
       ++seq)
    out.push_back(v[seq - 1]);
  return out;
}

uint64_t sync_state::length(const std::string& topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? 0 : it->second.size();
}

sync_state::result sync_state::subscribe(const std::string& topic, uint64_t from, waiter_id id,
                                         bool& ready) {
  ready = false;
  if (auto why = check_name("topic", topic))
    return {0, *why};
  if (from == 0)
    from = 1;
  const uint64_t have = length(topic);
  if (have >= from) {
    ready = true;
    return {have, {}};
  }
  if (auto why = check_room())
    return {have, *why};
  subscribers_[topic].emplace(from, id);
  where_[id] = place{false, topic, from};
  return {have, {}};
}

std::vector<std::pair<sync_state::waiter_id, uint64_t>>
sync_state::take_ready(const std::string& topic) {
  std::vector<std::pair<waiter_id, uint64_t>> out;
  auto it = subscribers_.find(topic);
  if (it == subscribers_.end())
    return out;
  const uint64_t have = length(topic);
  auto& waiting = it->second;
  while (!waiting.empty() && waiting.begin()->first <= have) {
    out.emplace_back(waiting.begin()->second, waiting.begin()->first);
    where_.erase(waiting.begin()->second);
    waiting.erase(waiting.begin());
  }
  if (waiting.empty())
    subscribers_.erase(it);
  return out;
}

// -- waiters ------------------------------------------------------------------

bool sync_state::cancel(waiter_id id) {
  auto it = where_.find(id);
  if (it == where_.end())
    return false;
  auto& m = it->second.barrier ? barriers_ : subscribers_;
  auto w = m.find(it->second.name);
  if (w != m.end()) {
    w->second.erase({it->second.key, id});
    if (w->second.empty())
      m.erase(w);
  }
  where_.erase(it);
  return true;
}

} // namespace troupe
