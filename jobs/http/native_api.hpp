#pragma once
// The native JSON face of the engine: enqueue, claim (with lease), heartbeat, complete,
// verify, fail, retry, get, list by status, summary. Like the replay face, a pure function
// from request to response; http_server puts both behind one socket.

#include "jobs/engine.hpp"
#include "jobs/http/http_types.hpp"
#include "jobs/http/json_text.hpp"
#include "jobs/replay/replay.hpp"

namespace troupe::jobs {

/// Routes (JSON bodies; errors are {"error": "..."}):
///   POST /v1/jobs                   {type, key?, payload?, depends_on?, after?} or an array
///   POST /v1/pipelines/{name}/jobs  {key, payload?}
///   POST /v1/claim                  {worker, type?} -> task (with its "fence"), or 204
///   POST /v1/jobs/{id}/heartbeat    {worker, fence?}
///   POST /v1/jobs/{id}/complete     {worker, fence?, result?}
///   POST /v1/jobs/{id}/verify       {worker, fence?, verdict: pass|pending|reject, detail?}
///   POST /v1/jobs/{id}/fail         {worker, fence?, error}
///   POST /v1/jobs/{id}/retry
///   GET  /v1/jobs/{id}
///   GET  /v1/jobs?status=S&type=T&limit=N&after=ID
///   GET  /v1/summary
/// Status codes: 200 ok (a repeated complete/verify answers 200 with "duplicate": true),
/// 201 created, 204 nothing to claim, 400 bad input, 404 unknown job or route, 409 lease not
/// held, stale fencing token (the job was claimed again since) or wrong state. (401, 403 and
/// 415 come from the access gate in front, see access_gate.hpp.)
class native_api {
public:
  /// `replay` may be null; when set, retry of a replay job goes through it.
  native_api(engine& e, replay_service* replay)
    : engine_(e)
    , replay_(replay) {}
  http_response handle(const http_request& req, time_ms now);

private:
  std::optional<http_response> hot_path(const http_request& req, time_ms now);
  http_response job_op(job_id id, const std::string& op, const nlohmann::json& body, time_ms now);
  engine& engine_;
  replay_service* replay_;
  std::vector<json_text::member> members_; ///< hot_path's scratch (kept for its capacity)
  std::string worker_;
};

/// Converts a task to the JSON a worker receives.
nlohmann::json to_json(const task& t);
/// The same, as text (to_json(t).dump() up to number formatting), without a JSON tree.
std::string task_json(const task& t);

} // namespace troupe::jobs
