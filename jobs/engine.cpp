#include "jobs/engine.hpp"

#include "actors/json_read.hpp"
#include "jobs/bounded_json.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <set>

namespace troupe::jobs {

namespace {

std::string json_escape(const std::string& s) { return nlohmann::json(s).dump(); }

} // namespace

// -- pipelines and policies ------------------------------------------------------

type_policy parse_policy(const nlohmann::json& doc, std::vector<validation_error>& errors,
                         const std::string& where) {
  type_policy p;
  static const std::set<std::string> known = {"type",
                                              "process_attempts_max",
                                              "verification_attempts_max",
                                              "verification_poll_ms",
                                              "backoff_base_ms",
                                              "backoff_max_ms",
                                              "backoff_jitter",
                                              "lease_ms",
                                              "concurrency_max",
                                              "verify",
                                              "after_previous_key"};
  if (!doc.is_object()) {
    errors.push_back({where, "expected an object"});
    return p;
  }
  for (const auto& [k, v] : doc.items())
    if (!known.count(k))
      errors.push_back({where + "." + excerpt(k),
                        "unknown field; allowed: type, process_attempts_max, "
                        "verification_attempts_max, verification_poll_ms, "
                        "backoff_base_ms, backoff_max_ms, backoff_jitter, "
                        "lease_ms, concurrency_max, verify, after_previous_key"});
  auto type = doc.find("type");
  if (type == doc.end() || !type->is_string() || type->get<std::string>().empty())
    errors.push_back({where + ".type", "expected a non-empty string"});
  else
    p.type = type->get<std::string>();
  auto int_field = [&](const char* name, auto& out, int64_t min) {
    auto it = doc.find(name);
    if (it == doc.end())
      return;
    if (!it->is_number_integer() || it->get<int64_t>() < min) {
      errors.push_back({where + "." + name, "expected an integer >= " + std::to_string(min)});
      return;
    }
    out = static_cast<std::decay_t<decltype(out)>>(it->get<int64_t>());
  };
  int_field("process_attempts_max", p.process_attempts_max, 1);
  int_field("verification_attempts_max", p.verification_attempts_max, 1);
  int_field("verification_poll_ms", p.verification_poll_ms, 0);
  int_field("backoff_base_ms", p.backoff_base_ms, 0);
  int_field("backoff_max_ms", p.backoff_max_ms, 0);
  int_field("lease_ms", p.lease_ms, 1);
  int_field("concurrency_max", p.concurrency_max, 0);
  if (auto it = doc.find("backoff_jitter"); it != doc.end()) {
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1)
      errors.push_back({where + ".backoff_jitter", "expected a number in [0, 1]"});
    else
      p.backoff_jitter = it->get<double>();
  }
  if (auto it = doc.find("verify"); it != doc.end()) {
    if (!it->is_boolean())
      errors.push_back({where + ".verify", "expected true or false"});
    else
      p.verify = it->get<bool>();
  }
  return p;
}

pipeline parse_pipeline(const nlohmann::json& doc) {
  std::vector<validation_error> errors;
  pipeline p;
  if (!doc.is_object())
    throw validation_failed(
      std::vector<validation_error>{{"", "a pipeline must be a JSON object with name and stages"}});
  if (auto it = doc.find("name"); it == doc.end() || !it->is_string())
    errors.push_back({"name", "expected a string"});
  else
    p.name = it->get<std::string>();
  auto stages = doc.find("stages");
  if (stages == doc.end() || !stages->is_array() || stages->empty()) {
    errors.push_back({"stages", "expected a non-empty array of stages"});
  } else {
    std::set<std::string> seen;
    for (size_t i = 0; i < stages->size(); ++i) {
      const auto& s = (*stages)[i];
      const std::string where = "stages[" + std::to_string(i) + "]";
      auto policy = parse_policy(s, errors, where);
      pipeline_stage stage{policy.type, false};
      if (s.is_object())
        if (auto a = s.find("after_previous_key"); a != s.end()) {
          if (!a->is_boolean())
            errors.push_back({where + ".after_previous_key", "expected true or false"});
          else
            stage.after_previous_key = a->get<bool>();
        }
      if (!policy.type.empty() && !seen.insert(policy.type).second)
        errors.push_back({where + ".type", "type '" + excerpt(policy.type) + "' appears twice"});
      p.stages.push_back(stage);
      p.policies.push_back(policy);
    }
  }
  if (!errors.empty())
    throw validation_failed(std::move(errors));
  return p;
}

pipeline load_pipeline_file(const std::string& path) {
  const auto doc = read_json_file(path, "pipeline file");
  try {
    return parse_pipeline(doc);
  } catch (const validation_failed& e) {
    throw in_file(path, e);
  }
}

// -- constructors ----------------------------------------------------------------

engine::engine(store* s, options o)
  : store_(s)
  , opts_(o)
  , rng_(rng::stream(o.seed, "jobs.engine.backoff")) {}

// -- types -----------------------------------------------------------------------

void engine::define_type(type_policy p) {
  if (auto it = type_index_.find(p.type); it != type_index_.end()) {
    types_[it->second].policy = std::move(p);
    return;
  }
  if (types_.size() >= 65535)
    throw user_error("too many job types (65535 max): reuse types and tell jobs apart by key");
  type_index_.emplace(p.type, types_.size());
  types_.push_back(type_state{std::move(p), {}, 0});
}

bool engine::has_type(std::string_view type) const {
  return type_index_.find(type) != type_index_.end();
}

size_t engine::slot_of(std::string_view type) const {
  auto it = type_index_.find(type);
  if (it == type_index_.end())
    throw user_error("unknown job type '" + excerpt(type) +
                     "': define it (pipeline file or type policy) before enqueueing");
  return it->second;
}

const type_policy& engine::policy(std::string_view type) const {
  return types_[slot_of(type)].policy;
}

std::vector<std::string> engine::type_names() const {
  std::vector<std::string> out;
  for (const auto& t : types_)
    out.push_back(t.policy.type);
  return out;
}

void engine::add_pipeline(const pipeline& p) {
  for (const auto& pol : p.policies)
    define_type(pol);
  pipelines_.push_back(p);
  for (size_t s = 0; s < p.stages.size(); ++s)
    stage_of_[p.stages[s].type] = {pipelines_.size() - 1, s};
}

// -- bookkeeping -------------------------------------------------------------------

void engine::mark(job& j, time_ms now) {
  j.updated_ms = now;
  if (observer_)
    observer_(j, now);
  if (!j.dirty) {
    j.dirty = true;
    dirty_.push_back(j.id);
  }
}

void engine::set_status(job& j, job_status s) {
  --counts_[static_cast<int>(j.status)];
  ++counts_[static_cast<int>(s)];
  j.status = s;
}

void engine::make_ready(job& j, time_ms now) {
  if (j.not_before_ms > now) {
    schedule(j, j.not_before_ms);
    return;
  }
  if (!j.queued) {
    j.queued = true;
    types_[j.type_slot].ready.push_back(j.id);
  }
}

void engine::schedule(job& j, time_ms due) {
  j.not_before_ms = due;
  timers_.push({due, j.id, ++j.timer_generation});
}

void engine::promote_timers(time_ms now) {
  while (!timers_.empty() && timers_.top().due <= now) {
    auto e = timers_.top();
    timers_.pop();
    job& j = at(e.id);
    if (e.generation != j.timer_generation)
      continue;
    if (j.status == job_status::created || j.status == job_status::pending_verification)
      make_ready(j, now);
  }
}

void engine::lease(job& j, const std::string& worker, time_ms now) {
  j.lease_owner = worker;
  ++j.fence;
  j.lease_expiry_ms = now + types_[j.type_slot].policy.lease_ms;
  leases_.push({j.lease_expiry_ms, j.id, ++j.lease_generation});
  ++types_[j.type_slot].in_flight;
}

void engine::release(job& j) {
  // lease_owner stays: it names who did the last phase, which makes a repeated
  // complete/verify from the same worker recognisable as a duplicate.
  j.lease_expiry_ms = 0;
  ++j.lease_generation;
  --types_[j.type_slot].in_flight;
}

time_ms engine::backoff(const type_policy& p, int attempt) {
  double d = static_cast<double>(p.backoff_base_ms) * std::ldexp(1.0, std::max(0, attempt - 1));
  d = std::min(d, static_cast<double>(p.backoff_max_ms));
  if (p.backoff_jitter > 0)
    d *= 1.0 + p.backoff_jitter * (2.0 * rng_.uniform01() - 1.0);
  return static_cast<time_ms>(std::max(0.0, d));
}

void engine::add_error(job& j, const std::string& what, time_ms now) {
  // Errors are appended as text so the hot path never re-parses the history.
  std::string entry =
    "{\"at_ms\":" + std::to_string(now) + ",\"status\":\"" + std::string(to_string(j.status)) +
    "\",\"process_attempt\":" + std::to_string(j.process_attempts) +
    ",\"worker\":" + json_escape(j.lease_owner) + ",\"error\":" + json_escape(what) + "}";
  if (j.errors.size() <= 2)
    j.errors = "[" + entry + "]";
  else
    j.errors.insert(j.errors.size() - 1, "," + entry);
}

void engine::after_operation() {
  // A shared store's round commits once, at its end: a commit in the middle would let the
  // rest of the round decide without the round lock.
  if (dirty_.size() >= opts_.commit_batch_max && !(store_ && store_->in_round()))
    commit();
}

void engine::commit() {
  if (dirty_.empty() && !(store_ && store_->in_round()))
    return;
  if (store_) {
    std::vector<const job*> rows;
    rows.reserve(dirty_.size());
    for (job_id id : dirty_)
      rows.push_back(&at(id));
    store_->write(rows);
  }
  for (job_id id : dirty_)
    at(id).dirty = false;
  dirty_.clear();
}

std::vector<job> engine::take_dirty() {
  std::vector<job> out;
  out.reserve(dirty_.size());
  for (job_id id : dirty_) {
    job& j = at(id);
    j.dirty = false;
    out.push_back(j);
  }
  dirty_.clear();
  return out;
}

// -- producing work ------------------------------------------------------------------

void engine::resolve_dependencies(job& j) {
  j.unmet_dependencies = 0;
  for (job_id d : j.depends_on) {
    if (d < 1 || d > static_cast<job_id>(jobs_.size()))
      throw user_error("job depends on unknown job " + std::to_string(d) +
                       ": enqueue the dependency first");
    if (at(d).status != job_status::completed) {
      ++j.unmet_dependencies;
      waiters_[d].push_back(j.id);
    }
  }
  for (const auto& a : j.after) {
    const auto slot = static_cast<uint16_t>(slot_of(a.type));
    auto it = by_key_.find({slot, a.key});
    if (it != by_key_.end() && at(it->second).status == job_status::completed)
      continue;
    ++j.unmet_dependencies;
    key_waiters_[{slot, a.key}].push_back(j.id);
  }
}

job_id engine::enqueue(new_job nj, time_ms now) {
  const auto slot = static_cast<uint16_t>(slot_of(nj.type));
  if (nj.key)
    if (auto it = by_key_.find({slot, *nj.key}); it != by_key_.end())
      return it->second;
  job j;
  j.id = static_cast<job_id>(jobs_.size()) + 1;
  j.type = std::move(nj.type);
  j.type_slot = slot;
  j.key = nj.key;
  j.payload = nj.payload.empty() ? "null" : std::move(nj.payload);
  j.depends_on = std::move(nj.depends_on);
  j.after = std::move(nj.after);
  j.created_ms = now;
  j.status = job_status::created;
  resolve_dependencies(j); // may throw: nothing is inserted yet
  if (j.unmet_dependencies > 0)
    j.status = job_status::waiting;
  ++counts_[static_cast<int>(j.status)];
  if (j.key)
    by_key_.emplace(std::make_pair(slot, *j.key), j.id);
  jobs_.push_back(std::move(j));
  job& ref = jobs_.back();
  mark(ref, now);
  if (ref.status == job_status::created)
    make_ready(ref, now);
  after_operation();
  return ref.id;
}

job_id engine::enqueue_pipeline(std::string_view name, int64_t key, std::string payload,
                                time_ms now) {
  for (const auto& p : pipelines_)
    if (p.name == name) {
      new_job nj{p.stages[0].type, key, std::move(payload), {}, {}};
      if (p.stages[0].after_previous_key && find_key(p.stages[0].type, key - 1).has_value())
        nj.after.push_back({p.stages[0].type, key - 1});
      return enqueue(std::move(nj), now);
    }
  throw user_error("unknown pipeline '" + excerpt(name) + "': load its definition first");
}

job_id engine::insert_external(job j, time_ms now) {
  const auto slot = static_cast<uint16_t>(slot_of(j.type));
  j.id = static_cast<job_id>(jobs_.size()) + 1;
  j.type_slot = slot;
  j.created_ms = now;
  j.dirty = false;
  j.queued = false;
  ++counts_[static_cast<int>(j.status)];
  if (j.key)
    by_key_.emplace(std::make_pair(slot, *j.key), j.id);
  jobs_.push_back(std::move(j));
  mark(jobs_.back(), now);
  after_operation();
  return jobs_.back().id;
}

void engine::load(time_ms now) {
  if (!store_)
    return;
  // A shared store's first round reads every job, under the round lock.
  auto rows = store_->shared() ? store_->begin_round() : store_->load_all();
  jobs_.clear();
  by_key_.clear();
  waiters_.clear();
  key_waiters_.clear();
  timers_ = {};
  leases_ = {};
  dirty_.clear();
  std::fill(std::begin(counts_), std::end(counts_), 0);
  for (auto& t : types_) {
    t.ready.clear();
    t.in_flight = 0;
  }
  for (auto& r : rows)
    append_row(std::move(r));
  for (auto& j : jobs_) {
    if (types_[j.type_slot].policy.external)
      continue;
    switch (j.status) {
      case job_status::waiting:
        resolve_dependencies(j);
        if (j.unmet_dependencies == 0) {
          set_status(j, job_status::created);
          mark(j, now);
          make_ready(j, now);
        }
        break;
      case job_status::created:
      case job_status::pending_verification:
        make_ready(j, now);
        break;
      case job_status::processing:
      case job_status::verifying:
        // The claim survives the restart: its worker may still finish and report.
        ++types_[j.type_slot].in_flight;
        leases_.push({j.lease_expiry_ms, j.id, ++j.lease_generation});
        break;
      default:
        break;
    }
  }
  commit();
}

void engine::adopt_type(job& j) {
  if (!has_type(j.type)) {
    type_policy p;
    p.type = j.type;
    define_type(p);
  }
  j.type_slot = static_cast<uint16_t>(slot_of(j.type));
}

void engine::append_row(job r) {
  // Ids are dense by construction; a gap means rows were deleted by hand. Keep ids stable
  // by filling the gap with a failed placeholder rather than renumbering.
  while (static_cast<job_id>(jobs_.size()) + 1 < r.id) {
    job gap;
    gap.id = static_cast<job_id>(jobs_.size()) + 1;
    gap.type = r.type;
    gap.status = job_status::failed;
    gap.errors = R"([{"error":"row missing from the store"}])";
    adopt_type(gap);
    ++counts_[static_cast<int>(gap.status)];
    jobs_.push_back(std::move(gap));
  }
  adopt_type(r);
  ++counts_[static_cast<int>(r.status)];
  if (r.key)
    by_key_.emplace(std::make_pair(r.type_slot, *r.key), r.id);
  jobs_.push_back(std::move(r));
}

// -- several engines on one database ----------------------------------------------------------

void engine::begin_round(time_ms now) {
  if (!store_ || !store_->shared() || store_->in_round())
    return;
  absorb(store_->begin_round(), now);
}

void engine::absorb(std::vector<job> rows, time_ms now) {
  // First every row's fields (so that a new job's dependencies all exist), then the index.
  struct change {
    job_id id;
    bool is_new;
    job_status before;
  };
  std::vector<change> changes;
  changes.reserve(rows.size());
  for (auto& r : rows) { // in id order (the store's)
    if (r.id > static_cast<job_id>(jobs_.size())) {
      const job_id id = r.id;
      append_row(std::move(r));
      changes.push_back({id, true, job_status::created});
      continue;
    }
    job& j = at(r.id);
    const job_status before = j.status;
    if (is_leased(before) && !types_[j.type_slot].policy.external)
      --types_[j.type_slot].in_flight;
    --counts_[static_cast<int>(before)];
    ++counts_[static_cast<int>(r.status)];
    // The stored fields replace ours; the index's bookkeeping stays, and the old timer and
    // lease entries of the job no longer count.
    r.type_slot = j.type_slot;
    r.queued = j.queued;
    r.unmet_dependencies = j.unmet_dependencies;
    r.timer_generation = j.timer_generation + 1;
    r.lease_generation = j.lease_generation + 1;
    r.dirty = false;
    j = std::move(r);
    changes.push_back({j.id, false, before});
  }
  for (const auto& c : changes)
    reindex(at(c.id), c.is_new, c.before, now);
}

void engine::reindex(job& j, bool is_new, job_status before, time_ms now) {
  if (types_[j.type_slot].policy.external)
    return;
  switch (j.status) {
    case job_status::waiting:
      if (is_new || before != job_status::waiting) {
        for (const auto& a : j.after) // a stage this engine's pipelines do not name
          if (!has_type(a.type)) {
            type_policy p;
            p.type = a.type;
            define_type(p);
          }
        resolve_dependencies(j);
      }
      break;
    case job_status::created:
    case job_status::pending_verification:
      j.unmet_dependencies = 0;
      make_ready(j, now);
      break;
    case job_status::processing:
    case job_status::verifying:
      j.unmet_dependencies = 0;
      ++types_[j.type_slot].in_flight;
      leases_.push({j.lease_expiry_ms, j.id, ++j.lease_generation});
      break;
    case job_status::completed:
      j.unmet_dependencies = 0;
      if (is_new || before != job_status::completed)
        settle_waiters(j);
      break;
    case job_status::failed:
      j.unmet_dependencies = 0;
      break;
  }
}

void engine::settle_waiters(const job& j) {
  auto settle = [&](auto& map, const auto& key) {
    auto it = map.find(key);
    if (it == map.end())
      return;
    for (job_id w : it->second)
      if (at(w).unmet_dependencies > 0)
        --at(w).unmet_dependencies;
    map.erase(it);
  };
  settle(waiters_, j.id);
  if (j.key)
    settle(key_waiters_, std::make_pair(j.type_slot, *j.key));
}

// -- worker operations ---------------------------------------------------------------------

std::optional<task> engine::claim_slot(size_t slot, const std::string& worker, time_ms now) {
  auto& t = types_[slot];
  if (t.policy.external)
    return std::nullopt;
  if (t.policy.concurrency_max > 0 && t.in_flight >= t.policy.concurrency_max)
    return std::nullopt;
  while (!t.ready.empty()) {
    job& j = at(t.ready.front());
    t.ready.pop_front();
    j.queued = false;
    if (j.not_before_ms > now)
      continue; // rescheduled after it was queued; its timer brings it back
    task out;
    if (j.status == job_status::created) {
      set_status(j, job_status::processing);
      ++j.process_attempts;
      out.which = phase::process;
      out.attempt = j.process_attempts;
    } else if (j.status == job_status::pending_verification) {
      set_status(j, job_status::verifying);
      ++j.verification_attempts;
      out.which = phase::verify;
      out.attempt = j.verification_attempts;
      out.result = j.result;
    } else {
      continue; // stale entry
    }
    lease(j, worker, now);
    mark(j, now);
    out.id = j.id;
    out.type = j.type;
    out.key = j.key;
    out.payload = j.payload;
    out.lease_expiry_ms = j.lease_expiry_ms;
    out.fence = j.fence;
    after_operation();
    return out;
  }
  return std::nullopt;
}

std::optional<task> engine::claim(std::string_view type, const std::string& worker, time_ms now) {
  promote_timers(now);
  return claim_slot(slot_of(type), worker, now);
}

std::optional<task> engine::claim_any(const std::string& worker, time_ms now) {
  promote_timers(now);
  for (size_t s = 0; s < types_.size(); ++s)
    if (auto t = claim_slot(s, worker, now))
      return t;
  return std::nullopt;
}

void engine::finish(job& j, time_ms now) {
  set_status(j, job_status::completed);
  ++j.completions;
  j.finished_ms = now;
  j.not_before_ms = 0;
  mark(j, now);
  // Wake dependants, in the order they started waiting (deterministic).
  auto wake = [&](std::vector<job_id>& list) {
    for (job_id w : list) {
      job& d = at(w);
      if (d.unmet_dependencies > 0 && --d.unmet_dependencies == 0 &&
          d.status == job_status::waiting) {
        set_status(d, job_status::created);
        mark(d, now);
        make_ready(d, now);
      }
    }
  };
  if (auto it = waiters_.find(j.id); it != waiters_.end()) {
    auto list = std::move(it->second);
    waiters_.erase(it);
    wake(list);
  }
  if (j.key)
    if (auto it = key_waiters_.find({j.type_slot, *j.key}); it != key_waiters_.end()) {
      auto list = std::move(it->second);
      key_waiters_.erase(it);
      wake(list);
    }
  // The pipeline's next stage for this key.
  if (!j.key)
    return;
  auto st = stage_of_.find(j.type);
  if (st == stage_of_.end())
    return;
  const auto& p = pipelines_[st->second.first];
  const size_t next = st->second.second + 1;
  if (next >= p.stages.size())
    return;
  new_job nj{p.stages[next].type, j.key, j.payload, {}, {}};
  if (p.stages[next].after_previous_key && find_key(p.stages[0].type, *j.key - 1))
    nj.after.push_back({p.stages[next].type, *j.key - 1});
  enqueue(std::move(nj), now);
}

void engine::fail_for_good(job& j, time_ms now) {
  set_status(j, job_status::failed);
  j.finished_ms = now;
  j.not_before_ms = 0;
  mark(j, now);
}

std::optional<outcome> engine::check_fence(job_id id, std::optional<int64_t> fence) {
  if (id < 1 || id > static_cast<job_id>(jobs_.size()))
    return outcome::not_found;
  if (fence && *fence != at(id).fence) {
    ++refused_stale_fence_;
    return outcome::stale_fence;
  }
  return std::nullopt;
}

outcome engine::counted(outcome o) {
  if (o == outcome::not_owner)
    ++refused_not_owner_;
  return o;
}

outcome engine::complete(job_id id, const std::string& worker, std::string result, time_ms now,
                         std::optional<int64_t> fence) {
  if (auto refused = check_fence(id, fence))
    return *refused;
  job& j = at(id);
  if (j.status != job_status::processing) {
    const bool past = j.status == job_status::pending_verification ||
                      j.status == job_status::verifying || j.status == job_status::completed;
    return past && j.lease_owner == worker ? outcome::duplicate : outcome::wrong_state;
  }
  if (j.lease_owner != worker)
    return counted(outcome::not_owner);
  release(j);
  j.result = std::move(result);
  const auto& p = types_[j.type_slot].policy;
  if (p.verify) {
    set_status(j, job_status::pending_verification);
    j.verification_attempts = 0;
    mark(j, now);
    if (p.verification_poll_ms > 0)
      schedule(j, now + p.verification_poll_ms);
    else
      make_ready(j, now);
  } else {
    finish(j, now);
  }
  after_operation();
  return outcome::ok;
}

outcome engine::verify(job_id id, const std::string& worker, verdict v, const std::string& detail,
                       time_ms now, std::optional<int64_t> fence) {
  if (auto refused = check_fence(id, fence))
    return *refused;
  job& j = at(id);
  if (j.status != job_status::verifying)
    return j.status == job_status::completed && j.lease_owner == worker ? outcome::duplicate
                                                                        : outcome::wrong_state;
  if (j.lease_owner != worker)
    return counted(outcome::not_owner);
  release(j);
  const auto& p = types_[j.type_slot].policy;
  switch (v) {
    case verdict::pass:
      finish(j, now);
      break;
    case verdict::pending:
      if (j.verification_attempts >= p.verification_attempts_max) {
        add_error(j,
                  "verification still pending after " + std::to_string(j.verification_attempts) +
                    " polls" + (detail.empty() ? "" : ": " + detail),
                  now);
        fail_for_good(j, now);
      } else {
        set_status(j, job_status::pending_verification);
        mark(j, now);
        schedule(j, now + p.verification_poll_ms);
      }
      break;
    case verdict::reject:
      add_error(j, "verification rejected" + (detail.empty() ? "" : ": " + detail), now);
      if (j.process_attempts >= p.process_attempts_max) {
        fail_for_good(j, now);
      } else {
        set_status(j, job_status::created);
        j.verification_attempts = 0;
        mark(j, now);
        schedule(j, now + backoff(p, j.process_attempts));
      }
      break;
  }
  after_operation();
  return outcome::ok;
}

outcome engine::fail(job_id id, const std::string& worker, const std::string& error, time_ms now,
                     std::optional<int64_t> fence) {
  if (auto refused = check_fence(id, fence))
    return *refused;
  job& j = at(id);
  if (!is_leased(j.status))
    return outcome::wrong_state;
  if (j.lease_owner != worker)
    return counted(outcome::not_owner);
  add_error(j, error, now);
  release(j);
  const auto& p = types_[j.type_slot].policy;
  if (j.status == job_status::processing) {
    if (j.process_attempts >= p.process_attempts_max) {
      fail_for_good(j, now);
    } else {
      set_status(j, job_status::created);
      mark(j, now);
      schedule(j, now + backoff(p, j.process_attempts));
    }
  } else {
    // The verifier itself failed (not a rejection): poll again while polls remain.
    if (j.verification_attempts >= p.verification_attempts_max) {
      fail_for_good(j, now);
    } else {
      set_status(j, job_status::pending_verification);
      mark(j, now);
      schedule(j, now + std::max(p.verification_poll_ms, backoff(p, j.verification_attempts)));
    }
  }
  after_operation();
  return outcome::ok;
}

outcome engine::heartbeat(job_id id, const std::string& worker, time_ms now,
                          std::optional<int64_t> fence) {
  if (auto refused = check_fence(id, fence))
    return *refused;
  job& j = at(id);
  if (!is_leased(j.status))
    return outcome::wrong_state;
  if (j.lease_owner != worker)
    return counted(outcome::not_owner);
  j.lease_expiry_ms = now + types_[j.type_slot].policy.lease_ms;
  leases_.push({j.lease_expiry_ms, j.id, ++j.lease_generation});
  mark(j, now);
  after_operation();
  return outcome::ok;
}

size_t engine::expire_leases(time_ms now) {
  size_t n = 0;
  while (!leases_.empty() && leases_.top().due <= now) {
    auto e = leases_.top();
    leases_.pop();
    job& j = at(e.id);
    if (e.generation != j.lease_generation || !is_leased(j.status))
      continue;
    ++n;
    add_error(j,
              "lease expired (worker silent for " +
                std::to_string(types_[j.type_slot].policy.lease_ms) + " ms)",
              now);
    release(j);
    const auto& p = types_[j.type_slot].policy;
    if (j.status == job_status::processing) {
      if (j.process_attempts >= p.process_attempts_max) {
        fail_for_good(j, now);
      } else {
        set_status(j, job_status::created);
        j.not_before_ms = now;
        mark(j, now);
        make_ready(j, now);
      }
    } else if (j.verification_attempts >= p.verification_attempts_max) {
      fail_for_good(j, now);
    } else {
      set_status(j, job_status::pending_verification);
      j.not_before_ms = now;
      mark(j, now);
      make_ready(j, now);
    }
  }
  if (n > 0)
    after_operation();
  return n;
}

outcome engine::retry(job_id id, time_ms now) {
  if (id < 1 || id > static_cast<job_id>(jobs_.size()))
    return outcome::not_found;
  job& j = at(id);
  if (j.status != job_status::failed || types_[j.type_slot].policy.external)
    return outcome::wrong_state;
  j.process_attempts = 0;
  j.verification_attempts = 0;
  j.lease_owner.clear();
  j.not_before_ms = now;
  j.finished_ms = 0;
  // Dependencies are checked again: they were complete when it first ran, and stay so.
  set_status(j, job_status::created);
  mark(j, now);
  make_ready(j, now);
  after_operation();
  return outcome::ok;
}

// -- external access -------------------------------------------------------------------------

job* engine::find_mutable(job_id id) {
  if (id < 1 || id > static_cast<job_id>(jobs_.size()))
    return nullptr;
  return &at(id);
}

void engine::changed(job& j, job_status new_status, time_ms now) {
  if (new_status != j.status)
    set_status(j, new_status);
  mark(j, now);
  after_operation();
}

// -- queries -----------------------------------------------------------------------------------

const job* engine::find(job_id id) const {
  if (id < 1 || id > static_cast<job_id>(jobs_.size()))
    return nullptr;
  return &jobs_[static_cast<size_t>(id - 1)];
}

std::optional<job_id> engine::find_key(std::string_view type, int64_t key) const {
  auto t = type_index_.find(type);
  if (t == type_index_.end())
    return std::nullopt;
  auto it = by_key_.find({static_cast<uint16_t>(t->second), key});
  if (it == by_key_.end())
    return std::nullopt;
  return it->second;
}

std::vector<const job*> engine::list(std::optional<job_status> status, std::string_view type,
                                     size_t limit, job_id after_id) const {
  std::vector<const job*> out;
  for (size_t i = static_cast<size_t>(std::max<job_id>(after_id, 0)); i < jobs_.size(); ++i) {
    if (out.size() >= limit)
      break;
    const job& j = jobs_[i];
    if (status && j.status != *status)
      continue;
    if (!type.empty() && j.type != type)
      continue;
    out.push_back(&j);
  }
  return out;
}

bool engine::quiescent() const noexcept {
  return count(job_status::created) == 0 && count(job_status::processing) == 0 &&
         count(job_status::pending_verification) == 0 && count(job_status::verifying) == 0;
}

std::optional<time_ms> engine::next_due() const {
  std::optional<time_ms> out;
  if (!timers_.empty())
    out = timers_.top().due;
  if (!leases_.empty() && (!out || leases_.top().due < *out))
    out = leases_.top().due;
  return out;
}

nlohmann::json engine::to_json(const job& j) const {
  nlohmann::json out;
  out["id"] = j.id;
  out["type"] = j.type;
  out["key"] = j.key ? nlohmann::json(*j.key) : nlohmann::json(nullptr);
  out["status"] = to_string(j.status);
  out["process_attempts"] = j.process_attempts;
  out["verification_attempts"] = j.verification_attempts;
  out["lease"] = is_leased(j.status)
                   ? nlohmann::json{{"owner", j.lease_owner}, {"expiry_ms", j.lease_expiry_ms}}
                   : nlohmann::json(nullptr);
  out["fence"] = j.fence;
  out["depends_on"] = j.depends_on;
  auto after = nlohmann::json::array();
  for (const auto& a : j.after)
    after.push_back({{"type", a.type}, {"key", a.key}});
  out["after"] = after;
  out["created_ms"] = j.created_ms;
  out["updated_ms"] = j.updated_ms;
  out["finished_ms"] = j.finished_ms;
  out["completions"] = j.completions;
  auto parse = [](const std::string& text) {
    if (text.empty())
      return nlohmann::json(nullptr);
    std::string why; // stored texts are outside input too: bounded, else shown as text
    auto v = parse_json_bounded(text, why);
    return v ? std::move(*v) : nlohmann::json(text);
  };
  out["payload"] = parse(j.payload);
  out["result"] = parse(j.result);
  out["errors"] = parse(j.errors);
  return out;
}

nlohmann::json engine::summary() const {
  nlohmann::json out;
  out["total"] = jobs_.size();
  auto& by_status = out["by_status"] = nlohmann::json::object();
  for (int s = 0; s < job_status_count; ++s)
    by_status[std::string(to_string(static_cast<job_status>(s)))] = counts_[s];
  auto& by_type = out["by_type"] = nlohmann::json::object();
  std::vector<std::array<size_t, job_status_count>> per(types_.size());
  for (const auto& j : jobs_)
    ++per[j.type_slot][static_cast<int>(j.status)];
  for (size_t t = 0; t < types_.size(); ++t) {
    auto& o = by_type[types_[t].policy.type] = nlohmann::json::object();
    for (int s = 0; s < job_status_count; ++s)
      if (per[t][s])
        o[std::string(to_string(static_cast<job_status>(s)))] = per[t][s];
  }
  auto failed = nlohmann::json::array();
  for (const auto& j : jobs_)
    if (j.status == job_status::failed && failed.size() < 1000)
      failed.push_back({{"id", j.id},
                        {"type", j.type},
                        {"key", j.key ? nlohmann::json(*j.key) : nlohmann::json(nullptr)}});
  out["failed"] = failed;
  out["refused"] = {{"stale_fence", refused_stale_fence_}, {"not_owner", refused_not_owner_}};
  out["quiescent"] = quiescent();
  return out;
}

uint64_t engine::digest() const {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (const auto& j : jobs_) {
    std::string line =
      std::to_string(j.id) + '|' + j.type + '|' + std::string(to_string(j.status)) + '|' +
      std::to_string(j.process_attempts) + '|' + std::to_string(j.verification_attempts) + '|' +
      std::to_string(j.finished_ms) + '|' + j.result + '|' + j.errors + '|' + j.payload;
    h = stable_hash(line, h);
  }
  return h;
}

} // namespace troupe::jobs
