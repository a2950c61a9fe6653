#include "jobs/workers/sim_workers.hpp"

#include "actors/errors.hpp"
#include "jobs/replay/py_format.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::jobs {

// -- distributions -------------------------------------------------------------------

time_ms latency_dist::sample(rng& r) const {
  double v = 0;
  switch (k) {
    case kind::constant:
      v = a;
      break;
    case kind::uniform:
      v = a + (b - a) * r.uniform01();
      break;
    case kind::exponential:
      v = -a * std::log(1.0 - r.uniform01());
      break;
    case kind::lognormal:
      v = a * std::exp(b * r.normal());
      break;
  }
  return static_cast<time_ms>(std::max(0.0, std::round(v)));
}

time_ms campaign::run_to_end(time_ms time_ms_max) {
  time_ms now = 0;
  // Bounded twice: by virtual time and by a step count far above any sane campaign.
  for (uint64_t steps = 0; steps < 100'000'000; ++steps) {
    auto next = advance(now);
    if (!next || finished() || *next > time_ms_max)
      break;
    now = std::max(now, *next);
  }
  return now;
}

// -- pipeline campaign --------------------------------------------------------------------

sim_pipeline_campaign::sim_pipeline_campaign(engine& e, options o)
  : engine_(e)
  , opts_(std::move(o)) {
  for (size_t s = 0; s < opts_.workers.size(); ++s) {
    const auto& spec = opts_.workers[s];
    if (!engine_.has_type(spec.type))
      throw user_error("simulated workers for unknown job type '" + spec.type +
                       "': name a type of the pipeline");
    for (int i = 0; i < spec.workers; ++i) {
      const std::string name = "sim-" + spec.type + "-" + std::to_string(i);
      workers_.push_back(worker{s, name, 0, rng::stream(opts_.seed, "jobs.sim." + name), false});
    }
  }
}

std::optional<time_ms> sim_pipeline_campaign::advance(time_ms now) {
  now_ = now;
  if (!fed_) {
    for (int64_t k = opts_.first_key; k < opts_.first_key + opts_.count; ++k)
      engine_.enqueue_pipeline(opts_.pipeline, k, "{\"block\":" + std::to_string(k) + "}", now);
    fed_ = true;
  }
  engine_.expire_leases(now);
  while (!queue_.empty() && queue_.top().at <= now) {
    event ev = queue_.top();
    queue_.pop();
    ++events_;
    worker& w = workers_[ev.worker];
    w.busy = false;
    if (ev.result == 3) {
      // Died silently: the engine only learns through the lease. The pool starts a fresh
      // process under a new name, so a late report from the dead one cannot be confused.
      ++crashes_;
      ++w.incarnation;
      w.name = "sim-" + opts_.workers[w.spec].type + "-" + std::to_string(&w - workers_.data()) +
               "." + std::to_string(w.incarnation);
      continue;
    }
    if (ev.work.which == phase::process) {
      if (ev.result == 0)
        engine_.complete(ev.work.id, w.name, "{\"by\":\"" + w.name + "\"}", ev.at);
      else
        engine_.fail(ev.work.id, w.name, "simulated processing failure", ev.at);
    } else {
      engine_.verify(ev.work.id, w.name,
                     ev.result == 0   ? verdict::pass
                     : ev.result == 1 ? verdict::pending
                                      : verdict::reject,
                     "simulated", ev.at);
    }
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    worker& w = workers_[i];
    if (w.busy)
      continue;
    const auto& spec = opts_.workers[w.spec];
    auto t = engine_.claim(spec.type, w.name, now);
    if (!t)
      continue;
    // Every draw comes from this worker's own stream, in a fixed order.
    int result = 0;
    time_ms latency;
    if (t->which == phase::process) {
      latency = spec.process_latency.sample(w.random);
      if (w.random.chance(spec.crash_p))
        result = 3;
      else if (w.random.chance(spec.fail_p))
        result = 1;
    } else {
      latency = spec.verify_latency.sample(w.random);
      const double u = w.random.uniform01();
      result = u < spec.verify_reject_p                           ? 2
               : u < spec.verify_reject_p + spec.verify_pending_p ? 1
                                                                  : 0;
    }
    w.busy = true;
    queue_.push(event{now + latency, seq_++, i, std::move(*t), result});
  }
  engine_.promote(now);
  // The engine commits by itself every `commit_batch_max` changes; committing on every
  // event would make the store, not the model, the cost of a sim campaign.
  if (finished()) {
    engine_.commit();
    return std::nullopt;
  }
  std::optional<time_ms> next = engine_.next_due();
  if (!queue_.empty() && (!next || queue_.top().at < *next))
    next = queue_.top().at;
  return next;
}

bool sim_pipeline_campaign::finished() const {
  return fed_ && queue_.empty() && engine_.quiescent();
}

nlohmann::json sim_pipeline_campaign::summary() const {
  auto s = engine_.summary();
  s["campaign"] = {{"kind", "pipeline"},       {"pipeline", opts_.pipeline},
                   {"keys", opts_.count},      {"virtual_time_ms", now_},
                   {"worker_events", events_}, {"worker_crashes", crashes_},
                   {"finished", finished()},   {"digest", engine_.digest()}};
  return s;
}

// -- replay campaign ---------------------------------------------------------------------

sim_replay_campaign::sim_replay_campaign(replay_service& service, options o)
  : service_(service)
  , opts_(std::move(o)) {
  if (opts_.hosts < 1 || opts_.hosts > 100'000)
    throw user_error("a simulated replay campaign needs 1..100000 hosts");
  for (int i = 0; i < opts_.hosts; ++i) {
    host h;
    h.name = "replay-host-" + std::to_string(i);
    h.random = rng::stream(opts_.seed, "jobs.sim." + h.name);
    hosts_.push_back(std::move(h));
  }
}

std::string sim_replay_campaign::integrity_hash(int64_t block) {
  const std::string b = std::to_string(block);
  return (sha1_hex("state@" + b) + sha1_hex("root@" + b)).substr(0, 64);
}

http_response sim_replay_campaign::call(const std::string& method, const std::string& target,
                                        const std::string& body, const std::string& etag) {
  ++requests_;
  http_request r;
  r.method = method;
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) {
    const auto query = target.substr(q + 1);
    const auto eq = query.find('=');
    r.params.emplace_back(query.substr(0, eq), eq == std::string::npos ? "" : query.substr(eq + 1));
  }
  r.headers.emplace_back("Accept", "application/json");
  r.headers.emplace_back("Content-Type", "application/json");
  if (!etag.empty())
    r.headers.emplace_back("ETag", etag);
  r.body = body;
  return service_.handle(r, opts_.epoch_ms + now_);
}

int sim_replay_campaign::update(job_id id, const nlohmann::json& fields) {
  int code = 0;
  for (int attempt = 0; attempt < 5; ++attempt) { // job_operations.py retries too
    auto got = call("GET", "/job?jobid=" + std::to_string(id), "", "");
    if (got.status != 200)
      return got.status;
    auto job = nlohmann::ordered_json::parse(got.body);
    for (const auto& [k, v] : fields.items())
      job[k] = v;
    code = call("POST", "/job?jobid=" + std::to_string(id), py_json_dumps(job),
                got.header("ETag").value_or(""))
             .status;
    if (code != 400)
      return code;
    ++etag_conflicts_;
  }
  return code;
}

void sim_replay_campaign::run_step(host& h) {
  switch (h.next) {
    case step::pop: {
      auto got = call("GET", "/job?nextjob", "", "");
      if (got.status == 404) {
        if (service_.finished())
          h.next = step::done;
        else
          h.wake = now_ + opts_.poll_ms;
        return;
      }
      auto job = nlohmann::ordered_json::parse(got.body);
      job["status"] = "STARTED";
      auto posted = call("POST", "/job?jobid=" + std::to_string(job["job_id"].get<int64_t>()),
                         py_json_dumps(job), got.header("ETag").value_or(""));
      if (posted.status != 200) {
        ++etag_conflicts_; // another host took it first: ask again (bounded by the queue)
        h.wake = now_ + 1;
        return;
      }
      h.job = job["job_id"].get<int64_t>();
      h.start_block = job["start_block_num"].get<int64_t>();
      h.end_block = job["end_block_num"].get<int64_t>();
      h.at_block = h.start_block;
      h.doomed = h.random.chance(opts_.crash_p);
      h.next = step::load_snapshot;
      h.wake = now_ + opts_.snapshot_load.sample(h.random);
      return;
    }
    case step::load_snapshot: {
      update(h.job, {{"status", "LOADING_SNAPSHOT"}});
      // The snapshot's hash is the expected end hash of the slice before this one.
      nlohmann::ordered_json cfg;
      cfg["end_block_num"] = h.start_block;
      cfg["integrity_hash"] = integrity_hash(h.start_block);
      call("POST", "/config", py_json_dumps(cfg), "");
      h.next = step::working;
      h.wake = now_;
      return;
    }
    case step::working: {
      update(h.job, {{"status", "WORKING"}});
      h.blocks_per_ms = opts_.blocks_per_second * (0.8 + 0.4 * h.random.uniform01()) / 1000.0;
      h.work_start = now_;
      h.work_end = now_ + static_cast<time_ms>(std::ceil(
                            static_cast<double>(h.end_block - h.start_block) / h.blocks_per_ms));
      if (h.doomed) {
        // Goes silent for good; a replacement host (new incarnation) starts later.
        ++crashes_;
        ++h.incarnation;
        h.doomed = false;
        h.job = 0;
        h.next = step::pop;
        h.wake = now_ + opts_.poll_ms;
        return;
      }
      h.next = step::progress;
      h.wake = std::min(now_ + opts_.progress_every_ms, h.work_end);
      return;
    }
    case step::progress: {
      if (now_ >= h.work_end) {
        h.next = step::finish;
        h.wake = now_;
        return;
      }
      h.at_block = h.start_block +
                   static_cast<int64_t>(static_cast<double>(now_ - h.work_start) * h.blocks_per_ms);
      update(h.job, {{"status", "WORKING"}, {"last_block_processed", h.at_block}});
      h.wake = std::min(now_ + opts_.progress_every_ms, h.work_end);
      return;
    }
    case step::finish: {
      if (h.random.chance(opts_.error_p)) {
        update(h.job, {{"status", "ERROR"}, {"last_block_processed", h.at_block}});
      } else {
        update(h.job, {{"status", "COMPLETE"},
                       {"last_block_processed", h.end_block},
                       {"end_time", format_time(opts_.epoch_ms + now_)},
                       {"actual_integrity_hash", integrity_hash(h.end_block)}});
      }
      h.job = 0;
      h.next = step::pop;
      h.wake = now_;
      return;
    }
    case step::done:
      return;
  }
}

std::optional<time_ms> sim_replay_campaign::advance(time_ms now) {
  now_ = now;
  service_.expire_leases(opts_.epoch_ms + now);
  // Hosts due now run in (wake, index) order; a step may make its host due again at once.
  const size_t steps_max = hosts_.size() * 64 + 64;
  for (size_t n = 0; n < steps_max; ++n) {
    host* due = nullptr;
    for (auto& h : hosts_)
      if (h.next != step::done && h.wake <= now && (!due || h.wake < due->wake))
        due = &h;
    if (!due)
      break;
    run_step(*due);
  }
  service_.expire_leases(opts_.epoch_ms + now);
  if (finished())
    return std::nullopt;
  std::optional<time_ms> next;
  for (const auto& h : hosts_)
    if (h.next != step::done && (!next || h.wake < *next))
      next = h.wake;
  if (next && *next <= now)
    next = now + 1;
  return next;
}

bool sim_replay_campaign::finished() const {
  bool all_done = true, all_idle = true;
  for (const auto& h : hosts_) {
    all_done = all_done && h.next == step::done;
    all_idle = all_idle && h.job == 0;
  }
  return all_done || (all_idle && service_.finished());
}

nlohmann::json sim_replay_campaign::summary() const {
  nlohmann::json s;
  s["replay_summary"] = nlohmann::json::parse(service_.summary().dump());
  s["campaign"] = {{"kind", "replay"},
                   {"hosts", opts_.hosts},
                   {"virtual_time_ms", now_},
                   {"requests", requests_},
                   {"etag_conflicts", etag_conflicts_},
                   {"host_crashes", crashes_},
                   {"finished", finished()}};
  return s;
}

} // namespace troupe::jobs
