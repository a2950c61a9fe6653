#include "jobs/http/native_api.hpp"

#include "actors/errors.hpp"
#include "jobs/bounded_json.hpp"
#include "jobs/http/json_text.hpp"

namespace troupe::jobs {

namespace {

http_response json_text_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

/// A stored JSON text (payload, result) as a value: itself when it is JSON within the depth
/// limit, else the text as a JSON string (as engine::to_json shows it). Stored texts came
/// through a bounded reader, but a store file is outside input too.
nlohmann::json stored_value(const std::string& text) {
  std::string why;
  if (auto v = parse_json_bounded(text, why))
    return std::move(*v);
  return nlohmann::json(text);
}

/// The same, appended as text.
void append_stored_json(std::string& out, const std::string& text) {
  if (json_text::append_compact(out, text))
    return;
  out += stored_value(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

http_response json_response(int status, const nlohmann::json& body) {
  http_response r;
  r.status = status;
  // Invalid UTF-8 (a client's path bytes in an error message) is replaced, never thrown.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

/// Every error is one line of bounded length (the values it quotes are cut where it is
/// built; this also bounds messages from deeper layers).
http_response error(int status, const std::string& what) {
  return json_response(status, {{"error", one_line(what)}});
}

http_response from_outcome(outcome o, job_id id) {
  switch (o) {
    case outcome::ok: // the keys in nlohmann's (sorted) order, as before
      return json_text_response(200, "{\"id\":" + std::to_string(id) + ",\"ok\":true}");
    case outcome::duplicate:
      return json_text_response(200, "{\"duplicate\":true,\"id\":" + std::to_string(id) +
                                       ",\"ok\":true}");
    case outcome::not_found:
      return error(404, "no job " + std::to_string(id));
    case outcome::not_owner:
      return error(409, "job " + std::to_string(id) +
                          " is not leased to this worker (lease expired or claimed by another)");
    case outcome::wrong_state:
      return error(409, "job " + std::to_string(id) + " is not in a state that allows this");
    case outcome::stale_fence:
      return error(409, "job " + std::to_string(id) +
                          " was claimed again after this claim (stale fencing token): the "
                          "report is refused, the newer claim's worker owns the job");
  }
  return error(500, "unreachable");
}

std::string text_of(const nlohmann::json& v) { return v.is_null() ? std::string() : v.dump(); }

new_job parse_new_job(const nlohmann::json& b) {
  if (!b.is_object())
    throw user_error("a job must be a JSON object with at least \"type\"");
  new_job nj;
  auto t = b.find("type");
  if (t == b.end() || !t->is_string())
    throw user_error("job field \"type\" must be a string naming a defined job type");
  nj.type = t->get<std::string>();
  if (auto k = b.find("key"); k != b.end() && !k->is_null()) {
    if (!k->is_number_integer())
      throw user_error("job field \"key\" must be an integer (e.g. a block number)");
    nj.key = k->get<int64_t>();
  }
  if (auto p = b.find("payload"); p != b.end())
    nj.payload = p->dump();
  if (auto d = b.find("depends_on"); d != b.end()) {
    if (!d->is_array())
      throw user_error("job field \"depends_on\" must be an array of job ids");
    for (const auto& x : *d) {
      if (!x.is_number_integer())
        throw user_error("job field \"depends_on\" must be an array of job ids");
      nj.depends_on.push_back(x.get<job_id>());
    }
  }
  if (auto a = b.find("after"); a != b.end()) {
    if (!a->is_array())
      throw user_error("job field \"after\" must be an array of {type, key}");
    for (const auto& x : *a) {
      if (!x.is_object() || !x.contains("type") || !x["type"].is_string() || !x.contains("key") ||
          !x["key"].is_number_integer())
        throw user_error("job field \"after\" must be an array of {type, key}");
      nj.after.push_back({x["type"].get<std::string>(), x["key"].get<int64_t>()});
    }
  }
  return nj;
}

/// The fencing token a report carries (the claim's "fence"), if any.
std::optional<int64_t> fence_of(const nlohmann::json& b) {
  auto f = b.find("fence");
  if (f == b.end() || f->is_null())
    return std::nullopt;
  if (!f->is_number_integer() || f->get<int64_t>() < 0)
    throw user_error("field \"fence\" must be the non-negative integer the claim answered");
  return f->get<int64_t>();
}

std::string worker_of(const nlohmann::json& b) {
  auto w = b.find("worker");
  if (w == b.end() || !w->is_string() || w->get<std::string>().empty())
    throw user_error("field \"worker\" must be a non-empty string naming the worker");
  return w->get<std::string>();
}

} // namespace

nlohmann::json to_json(const task& t) {
  return {{"id", t.id},
          {"type", t.type},
          {"phase", std::string(to_string(t.which))},
          {"attempt", t.attempt},
          {"key", t.key ? nlohmann::json(*t.key) : nlohmann::json(nullptr)},
          {"payload", stored_value(t.payload)},
          {"result", t.result.empty() ? nlohmann::json(nullptr) : stored_value(t.result)},
          {"lease_expiry_ms", t.lease_expiry_ms},
          {"fence", t.fence}};
}

std::string task_json(const task& t) {
  // The keys in the order nlohmann's to_json(task) dumps them (sorted).
  std::string out;
  out.reserve(160 + t.type.size() + t.payload.size() + t.result.size());
  out += "{\"attempt\":";
  out += std::to_string(t.attempt);
  out += ",\"fence\":";
  out += std::to_string(t.fence);
  out += ",\"id\":";
  out += std::to_string(t.id);
  out += ",\"key\":";
  out += t.key ? std::to_string(*t.key) : std::string("null");
  out += ",\"lease_expiry_ms\":";
  out += std::to_string(t.lease_expiry_ms);
  out += ",\"payload\":";
  append_stored_json(out, t.payload);
  out += ",\"phase\":";
  json_text::append_string(out, to_string(t.which));
  out += ",\"result\":";
  if (t.result.empty())
    out += "null";
  else
    append_stored_json(out, t.result);
  out += ",\"type\":";
  json_text::append_string(out, t.type);
  out += '}';
  return out;
}

std::optional<http_response> native_api::hot_path(const http_request& req, time_ms now) {
  // Claim and complete, the two requests of every worker cycle, with a flat JSON body: read
  // without building a JSON tree. Anything unusual (a missing worker, escapes, a body the
  // scanner does not handle) goes the general way, which answers it exactly as before.
  const std::string& p = req.path;
  const bool claim = p == "/v1/claim";
  constexpr std::string_view jobs = "/v1/jobs/", complete = "/complete";
  if (!claim &&
      !(p.size() > jobs.size() + complete.size() && p.compare(0, jobs.size(), jobs) == 0 &&
        p.compare(p.size() - complete.size(), complete.size(), complete) == 0))
    return std::nullopt;
  if (!json_text::split_object(req.body, members_))
    return std::nullopt;
  const auto* w = json_text::find(members_, "worker");
  if (!w || !w->is_string || w->has_escapes || w->value.empty())
    return std::nullopt;
  worker_.assign(w->value);
  if (claim) {
    std::optional<task> t;
    const auto* ty = json_text::find(members_, "type");
    if (ty && ty->is_string) {
      if (ty->has_escapes)
        return std::nullopt;
      t = engine_.claim(ty->value, worker_, now);
    } else {
      t = engine_.claim_any(worker_, now);
    }
    if (!t) {
      http_response r;
      r.status = 204;
      return r;
    }
    return json_text_response(200, task_json(*t));
  }
  const std::string_view id_text(p.data() + jobs.size(), p.size() - jobs.size() - complete.size());
  if (id_text.empty() || id_text.size() > 18 ||
      id_text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  const job_id id = std::stoll(std::string(id_text));
  std::optional<int64_t> fence;
  if (const auto* f = json_text::find(members_, "fence"); f && !f->is_null) {
    if (f->is_string || f->value.empty() || f->value.size() > 18 ||
        f->value.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt; // the general path says what is wrong with it
    fence = std::stoll(std::string(f->value));
  }
  std::string result;
  if (const auto* r = json_text::find(members_, "result"); r && !r->is_null) {
    if (r->is_string) {
      result += '"';
      result += r->value; // the escapes handled here are two characters, kept as sent
      result += '"';
    } else if (!json_text::append_compact(result, r->value)) {
      return std::nullopt;
    }
  }
  return from_outcome(engine_.complete(id, worker_, std::move(result), now, fence), id);
}

http_response native_api::handle(const http_request& req, time_ms now) {
  try {
    if (req.method == "POST")
      if (auto r = hot_path(req, now))
        return std::move(*r);
    nlohmann::json body;
    if (req.method == "POST" && !req.body.empty()) {
      std::string why;
      auto parsed = parse_json_bounded(req.body, why);
      if (!parsed)
        return error(400, "the request body " + why + ": send one JSON value at most " +
                            std::to_string(json_depth_max) + " levels deep");
      body = std::move(*parsed);
    }
    const std::string& p = req.path;
    if (p == "/v1/summary" && req.method == "GET")
      return json_response(200, engine_.summary());
    if (p == "/v1/claim" && req.method == "POST") {
      const auto worker = worker_of(body);
      std::optional<task> t;
      if (auto ty = body.find("type"); ty != body.end() && ty->is_string())
        t = engine_.claim(ty->get<std::string>(), worker, now);
      else
        t = engine_.claim_any(worker, now);
      if (!t) {
        http_response r;
        r.status = 204;
        return r;
      }
      return json_response(200, to_json(*t));
    }
    if (p == "/v1/jobs") {
      if (req.method == "POST") {
        if (body.is_array()) {
          // Validate all first so a bad entry enqueues nothing.
          std::vector<new_job> all;
          for (const auto& b : body)
            all.push_back(parse_new_job(b));
          auto ids = nlohmann::json::array();
          for (auto& nj : all)
            ids.push_back(engine_.enqueue(std::move(nj), now));
          return json_response(201, {{"ids", ids}});
        }
        return json_response(201, {{"id", engine_.enqueue(parse_new_job(body), now)}});
      }
      if (req.method == "GET") {
        std::optional<job_status> status;
        if (auto s = req.param("status"); s && !s->empty()) {
          status = status_from_string(*s);
          if (!status)
            return error(400, "unknown status '" + excerpt(*s) +
                                "'; allowed: waiting, created, processing, pending_verification, "
                                "verifying, completed, failed");
        }
        size_t limit = 100;
        job_id after = 0;
        try {
          if (auto l = req.param("limit"))
            limit = std::min<size_t>(std::stoul(*l), 10000);
          if (auto a = req.param("after"))
            after = std::stoll(*a);
        } catch (const std::exception&) {
          return error(400, "limit and after must be integers");
        }
        auto arr = nlohmann::json::array();
        for (const job* j : engine_.list(status, req.param("type").value_or(""), limit, after))
          arr.push_back(engine_.to_json(*j));
        return json_response(200, arr);
      }
    }
    const std::string pipes = "/v1/pipelines/";
    if (p.rfind(pipes, 0) == 0 && req.method == "POST") {
      auto rest = p.substr(pipes.size());
      auto slash = rest.find('/');
      if (slash != std::string::npos && rest.substr(slash) == "/jobs") {
        auto k = body.find("key");
        if (k == body.end() || !k->is_number_integer())
          return error(400, "field \"key\" must be an integer");
        std::string payload = body.contains("payload") ? body["payload"].dump() : "null";
        auto id = engine_.enqueue_pipeline(rest.substr(0, slash), k->get<int64_t>(),
                                           std::move(payload), now);
        return json_response(201, {{"id", id}});
      }
    }
    const std::string jobs = "/v1/jobs/";
    if (p.rfind(jobs, 0) == 0) {
      auto rest = p.substr(jobs.size());
      auto slash = rest.find('/');
      const auto id_text = rest.substr(0, slash);
      job_id id = 0;
      if (id_text.empty() || id_text.size() > 18 ||
          id_text.find_first_not_of("0123456789") != std::string::npos)
        return error(404, "'" + excerpt(id_text) + "' is not a job id");
      id = std::stoll(id_text);
      if (slash == std::string::npos && req.method == "GET") {
        const job* j = engine_.find(id);
        if (!j)
          return error(404, "no job " + std::to_string(id));
        return json_response(200, engine_.to_json(*j));
      }
      if (slash != std::string::npos && req.method == "POST")
        return job_op(id, rest.substr(slash + 1), body, now);
    }
    return error(404, "no route " + excerpt(req.method, 16) + " " + excerpt(p, 128));
  } catch (const user_error& e) {
    return error(400, e.what());
  } catch (const nlohmann::json::exception& e) {
    return error(400, std::string("bad request body: ") + e.what());
  }
}

http_response native_api::job_op(job_id id, const std::string& op, const nlohmann::json& body,
                                 time_ms now) {
  if (op == "retry") {
    const job* j = engine_.find(id);
    if (j && replay_ && engine_.policy(j->type).external)
      return from_outcome(replay_->retry(id, now), id);
    return from_outcome(engine_.retry(id, now), id);
  }
  if (!body.is_object())
    return error(400, "the request body must be a JSON object with \"worker\"");
  const auto worker = worker_of(body);
  const auto fence = fence_of(body);
  if (op == "heartbeat")
    return from_outcome(engine_.heartbeat(id, worker, now, fence), id);
  if (op == "complete")
    return from_outcome(
      engine_.complete(id, worker, text_of(body.value("result", nlohmann::json())), now, fence),
      id);
  if (op == "verify") {
    auto v = body.find("verdict");
    std::optional<verdict> vd;
    if (v != body.end() && v->is_string())
      vd = verdict_from_string(v->get<std::string>());
    if (!vd)
      return error(400, "field \"verdict\" must be one of pass, pending, reject");
    std::string detail = body.value("detail", std::string());
    return from_outcome(engine_.verify(id, worker, *vd, detail, now, fence), id);
  }
  if (op == "fail") {
    auto e = body.find("error");
    std::string what = e != body.end() ? (e->is_string() ? e->get<std::string>() : e->dump())
                                       : std::string("failed");
    return from_outcome(engine_.fail(id, worker, what, now, fence), id);
  }
  return error(404, "unknown job operation '" + excerpt(op) +
                      "'; allowed: heartbeat, complete, verify, fail, retry");
}

} // namespace troupe::jobs
