#include "expectations/metric.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <caf/all.hpp>
#include <httplib.h>

#include "actors/echo.hpp"
#include "actors/errors.hpp"
#include "actors/run_context.hpp"
#include "actors/url.hpp"

namespace troupe::expectations {

using nlohmann::json;

namespace metric_detail {

struct params {
  std::string url; ///< empty: --prometheus-url
  std::string query;
  std::string op = ">=";
  double threshold = 0;
  std::string aggregate = "all";
  std::string empty = "fail";
  duration timeout = std::chrono::seconds(10);
};

params read(params_reader& r, const scenario&) {
  params p;
  p.url = r.string("url", "");
  if (!p.url.empty())
    try {
      parse_http_url(p.url, "url");
    } catch (const user_error&) {
      r.error("url", "must be an http:// URL (the base of a Prometheus API, e.g. "
                     "http://127.0.0.1:9090), got " +
                       echo(p.url));
    }
  p.query = r.string("query", "", true);
  r.describe_key("query", {{"minLength", 1}});
  if (r.has("query") && p.query.empty())
    r.error("query", "must be a non-empty PromQL expression");
  p.op = r.one_of("op", {"<", "<=", ">", ">=", "==", "!="}, p.op);
  p.threshold = r.number("threshold", 0, -1e300, 1e300, true);
  p.aggregate = r.one_of("aggregate", {"all", "any", "min", "max", "sum", "avg"}, p.aggregate);
  p.empty = r.one_of("empty", {"fail", "pass"}, p.empty);
  p.timeout = r.dur("timeout", p.timeout, std::chrono::milliseconds(1));
  return p;
}

bool compare(double v, const std::string& op, double t) {
  if (op == "<")
    return v < t;
  if (op == "<=")
    return v <= t;
  if (op == ">")
    return v > t;
  if (op == ">=")
    return v >= t;
  if (op == "==")
    return v == t;
  return v != t;
}

double parse_value(const json& pair) {
  // Prometheus answers [unix_time, "value"]; values are strings ("NaN", "+Inf" included).
  if (!pair.is_array() || pair.size() != 2)
    throw std::runtime_error("a sample is not [time, value]");
  const auto& v = pair[1];
  if (v.is_number())
    return v.get<double>();
  if (!v.is_string())
    throw std::runtime_error("a sample value is neither a string nor a number");
  const auto s = v.get<std::string>();
  try {
    size_t used = 0;
    double d = std::stod(s, &used);
    return d;
  } catch (const std::exception&) {
    throw std::runtime_error("sample value \"" + s + "\" is not a number");
  }
}

std::string fmt_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

verdict judge(const params& p, const std::string& name, const std::string& url) {
  verdict v;
  v.name = name;
  v.kind = "metric";
  json ev{{"url", url},
          {"query", p.query},
          {"op", p.op},
          {"threshold", p.threshold},
          {"aggregate", p.aggregate}};
  if (url.empty()) {
    v.pass = false;
    v.summary = "no Prometheus URL: set \"url\" in the expectation or pass --prometheus-url";
    ev["error"] = v.summary;
    v.evidence = ev.dump();
    return v;
  }
  std::vector<metric_sample> samples;
  try {
    samples = prometheus_query(url, p.query, p.timeout);
  } catch (const std::exception& e) {
    v.pass = false;
    v.summary = std::string("query failed: ") + e.what();
    ev["error"] = e.what();
    v.evidence = ev.dump();
    return v;
  }
  json series = json::array();
  for (size_t i = 0; i < samples.size() && i < 20; ++i)
    series.push_back(
      json{{"labels", samples[i].labels},
           {"value", std::isfinite(samples[i].value) ? json(samples[i].value)
                                                     : json(fmt_value(samples[i].value))}});
  ev["series"] = series;
  ev["series_count"] = samples.size();
  const std::string cond = p.op + " " + fmt_value(p.threshold);
  if (samples.empty()) {
    v.pass = p.empty == "pass";
    v.summary = "`" + p.query + "` returned no series (" +
                (v.pass ? "allowed by \"empty\": \"pass\"" : "need a value " + cond) + ")";
    v.evidence = ev.dump();
    return v;
  }
  if (p.aggregate == "all" || p.aggregate == "any") {
    size_t ok = 0;
    json failing = json::array();
    for (const auto& s : samples) {
      if (compare(s.value, p.op, p.threshold))
        ++ok;
      else if (failing.size() < 10)
        failing.push_back(json{{"labels", s.labels}, {"value", fmt_value(s.value)}});
    }
    v.pass = p.aggregate == "all" ? ok == samples.size() : ok > 0;
    ev["passing"] = ok;
    ev["failing_examples"] = failing;
    if (samples.size() == 1)
      v.summary = "`" + p.query + "` = " + fmt_value(samples[0].value) + " (need " + cond + ")";
    else
      v.summary = std::to_string(ok) + "/" + std::to_string(samples.size()) + " series of `" +
                  p.query + "` are " + cond + " (need " + p.aggregate + ")";
  } else {
    double agg = p.aggregate == "min" ? INFINITY : p.aggregate == "max" ? -INFINITY : 0;
    for (const auto& s : samples) {
      if (p.aggregate == "min")
        agg = std::min(agg, s.value);
      else if (p.aggregate == "max")
        agg = std::max(agg, s.value);
      else
        agg += s.value;
    }
    if (p.aggregate == "avg")
      agg /= static_cast<double>(samples.size());
    v.pass = compare(agg, p.op, p.threshold);
    ev["value"] = std::isfinite(agg) ? json(agg) : json(fmt_value(agg));
    v.summary = p.aggregate + " of `" + p.query + "` = " + fmt_value(agg) + " over " +
                std::to_string(samples.size()) + " series (need " + cond + ")";
  }
  v.evidence = ev.dump();
  return v;
}

struct state {
  run_context_ptr ctx;
  params p;
  std::string name;
};

using actor_t = caf::stateful_actor<state>;

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.p = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  self->state.name = entry.name;
  return {
    [](start_atom) {},
    [](event_atom, const run_event&) {},
    [=](evaluate_atom) {
      // Asked once, at the end, while the nodes still run. The HTTP call blocks this actor
      // for at most `timeout` (wall clock); in sim nothing advances meanwhile, so the
      // simulated outcome does not depend on it.
      auto& st = self->state;
      const auto& url = st.p.url.empty() ? st.ctx->prometheus_url : st.p.url;
      return judge(st.p, st.name, url);
    },
  };
}

} // namespace metric_detail

std::vector<metric_sample> prometheus_query(const std::string& base_url, const std::string& query,
                                            duration timeout) {
  // "http://host:port/prefix" -> client for "http://host:port", path "/prefix/api/v1/query".
  const auto u = parse_http_url(base_url, "Prometheus URL");
  const std::string& prefix = u.path;
  httplib::Client cli{u.host, u.port};
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(timeout).count();
  const auto usecs =
    std::chrono::duration_cast<std::chrono::microseconds>(timeout).count() % 1000000;
  cli.set_connection_timeout(secs, usecs);
  cli.set_read_timeout(secs, usecs);
  httplib::Params params{{"query", query}};
  auto res = cli.Get((prefix + "/api/v1/query").c_str(), params, httplib::Headers{});
  if (!res)
    throw std::runtime_error(base_url + " did not answer (" + httplib::to_string(res.error()) +
                             ")");
  json body;
  try {
    body = json::parse(res->body);
  } catch (const json::exception&) {
    throw std::runtime_error(base_url + "/api/v1/query answered HTTP " +
                             std::to_string(res->status) + " with a body that is not JSON");
  }
  if (body.value("status", "") != "success")
    throw std::runtime_error(base_url + "/api/v1/query answered HTTP " +
                             std::to_string(res->status) + ": " + body.value("errorType", "error") +
                             ": " + body.value("error", "no error text"));
  const auto& data = body.contains("data") ? body["data"] : json();
  const std::string type = data.is_object() ? data.value("resultType", "") : "";
  std::vector<metric_sample> out;
  if (type == "vector") {
    for (const auto& s : data["result"])
      out.push_back({s.value("metric", json::object()), metric_detail::parse_value(s["value"])});
  } else if (type == "scalar") {
    out.push_back({json::object(), metric_detail::parse_value(data["result"])});
  } else {
    throw std::runtime_error("the answer is a \"" + type +
                             "\", not an instant vector or scalar: use an instant query (no "
                             "[range] selector at the top level)");
  }
  return out;
}

actor_kind metric_kind() {
  auto k =
    make_actor_kind("metric",
                    "a Prometheus query (/api/v1/query) at the end of the run compared with a "
                    "threshold",
                    metric_detail::read, metric_detail::behavior);
  k.needs_nodes = false; // it asks a Prometheus server
  return k;
}

} // namespace troupe::expectations
