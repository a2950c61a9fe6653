#pragma once
// `metric`: asks a Prometheus-compatible HTTP API (`GET <url>/api/v1/query?query=...`, an
// instant query) at the end of the run and compares the answer with a threshold. `url`
// falls back to `troupe run --prometheus-url`. A query answering several series is judged
// per `aggregate`: "all" (every series must pass, the default), "any", or one value from
// "min", "max", "sum", "avg". An empty answer fails unless `empty` is "pass".
//
//   {"kind": "metric", "query": "sum(rate(etcd_server_proposals_failed_total[1m]))",
//    "op": "<=", "threshold": 0, "url": "http://127.0.0.1:9090"}

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind metric_kind();

/// One series of an instant query's answer.
struct metric_sample {
  nlohmann::json labels = nlohmann::json::object();
  double value = 0;
};

/// Runs an instant query; throws std::runtime_error with a one-sentence reason (unreachable,
/// HTTP status, Prometheus error, not a vector/scalar answer).
std::vector<metric_sample> prometheus_query(const std::string& base_url, const std::string& query,
                                            duration timeout);

} // namespace troupe::expectations
