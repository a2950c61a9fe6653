// Fuzz target: the JSON bodies of both HTTP faces (native_api, replay_service), as the server
// hands them a parsed request. The first input byte picks the route, the rest is the body.
// Every answer must be a status the protocol knows, and an error a short single line (no
// value of the body echoed whole). Seeds: bodies of tests/jobs/.

#include "jobs/engine.hpp"
#include "jobs/http/native_api.hpp"
#include "jobs/replay/replay.hpp"
#include "tests/fuzz/fuzz_target.hpp"

#include <string>

namespace {

using namespace troupe::jobs;
using troupe::fuzz::check;

struct route {
  const char* method;
  const char* path;
  bool replay;
};

// Every route that reads a body, and a few that do not.
constexpr route routes[] = {
  {"POST", "/v1/jobs", false},
  {"POST", "/v1/claim", false},
  {"POST", "/v1/jobs/1/complete", false},
  {"POST", "/v1/jobs/1/heartbeat", false},
  {"POST", "/v1/jobs/1/verify", false},
  {"POST", "/v1/jobs/1/fail", false},
  {"POST", "/v1/jobs/1/retry", false},
  {"POST", "/v1/pipelines/p/jobs", false},
  {"GET", "/v1/jobs/1", false},
  {"POST", "/job", true},
  {"POST", "/config", true},
  {"GET", "/summary", true},
};
constexpr size_t route_count = sizeof routes / sizeof routes[0];

void check_answer(const http_response& r, size_t body_size) {
  check(r.status >= 100 && r.status <= 599, "a status code");
  if (r.status >= 400) {
    check(r.body.size() <= 2048, "an error is short");
    check(r.body.find('\n') == std::string::npos, "an error is one line");
  } else {
    // An answer holds at most what was stored, in compact form, plus the job's fields.
    check(r.body.size() <= 2 * body_size + 4096, "an answer no bigger than what was sent");
  }
}

} // namespace

TROUPE_FUZZ_TARGET(http_json) {
  if (size < 1)
    return 0;
  const route& rt = routes[data[0] % route_count];
  // A fresh engine per input, so that an input's answer depends on it alone: one job
  // claimed by "w" (so complete/verify/fail have a lease to check), a pipeline, and a
  // replay campaign of two slices.
  engine e(nullptr);
  type_policy t;
  t.type = "t";
  e.define_type(t);
  pipeline p;
  p.name = "p";
  p.stages.push_back({"s", false});
  type_policy s;
  s.type = "s";
  p.policies.push_back(s);
  e.add_pipeline(p);
  e.enqueue({"t", 1, "{\"n\": 1}", {}, {}}, 0);
  (void) e.claim("t", "w", 0);
  replay_service svc(e, {});
  replay_slice a{1, 100, "s3://a", "s3", std::nullopt, "v1"};
  replay_slice b{100, 200, "s3://b", "s3", std::string("h"), "v1"};
  svc.load({a, b}, 0);
  native_api native(e, &svc);

  http_request req;
  req.method = rt.method;
  req.path = rt.path;
  req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (rt.replay && req.path == "/job") {
    const job_id id = svc.jobs().front().id;
    req.params.emplace_back("jobid", std::to_string(id));
    req.headers.emplace_back("ETag", svc.etag(*svc.by_id(id)));
  }
  req.headers.emplace_back("Accept", "application/json");
  const http_response r = rt.replay ? svc.handle(req, 1) : native.handle(req, 1);
  check_answer(r, req.body.size());
  // Whatever the body did, the engine still answers.
  (void) native.handle(http_request{"GET", "/v1/summary", {}, {}, {}, {}}, 2);
  return 0;
}
