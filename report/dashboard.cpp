#include "report/dashboard.hpp"

#include <httplib.h>

#include "actors/errors.hpp"
#include "report/metrics.hpp"
#include "report/report_html.hpp"

namespace troupe {

const char* const dashboard_chart_script = R"JS(
const $ = id => document.getElementById(id);
function fmt(x) { return typeof x === 'number' ? (Number.isInteger(x) ? x : x.toFixed(1)) : x; }
function poly(xs, ys, x0, x1, y0, y1) {
  const w = 640, h = 160, dx = (x1 - x0) || 1, dy = (y1 - y0) || 1;
  return xs.map((x, i) => ((x - x0) / dx * w).toFixed(1) + ',' +
                          (h - (ys[i] - y0) / dy * h).toFixed(1)).join(' ');
}
function chart(id, t, series) {
  const svg = $(id);
  if (!t.length) return;
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const v of s.v) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi <= lo) hi = lo + 1;
  const t0 = t[0], t1 = t[t.length - 1];
  let out = '';
  for (const s of series)
    out += '<polyline fill="none" stroke="' + s.c + '" stroke-width="1.5" points="' +
           poly(t, s.v, t0, t1, lo, hi) + '"><title>' + s.n + '</title></polyline>';
  out += '<text x="4" y="12" class="ax">' + fmt(hi) + '</text>' +
         '<text x="4" y="158" class="ax">' + fmt(lo) + '</text>' +
         '<text x="600" y="158" class="ax">' + fmt(t1) + 's</text>';
  svg.innerHTML = out;
}
function rates(v) { return v.map((x, i) => i ? Math.max(0, x - v[i - 1]) : 0); }
)JS";

const char* const dashboard_style = R"CSS(
body { font: 14px system-ui, sans-serif; margin: 20px; color: #222; }
table { border-collapse: collapse; } td { padding: 3px 12px 3px 0; } td:first-child { color: #666; }
svg { border: 1px solid #ddd; background: #fcfcfc; margin: 6px 0 14px; }
.ax { font-size: 10px; fill: #666; } h2 { font-size: 15px; margin: 14px 0 2px; }
)CSS";

std::string script_safe(std::string data) {
  for (size_t p = 0; (p = data.find("</", p)) != std::string::npos; p += 3)
    data.replace(p, 2, "<\\/");
  return data;
}

namespace {

// The run page's script: polls /api/status, fills the figures, redraws two small SVG charts
// (height min/median/max band; messages and drops per sample). `data-refreshes` on <body>
// counts successful refreshes, so a test (or a curious user) can see the page is live.
constexpr const char* page_script = R"JS(
let refreshes = 0;
function show(s) {
  $('phase').textContent = s.phase + (s.verdict ? ' — ' + s.verdict : '');
  $('run-time').textContent = fmt(s.run_s) + ' / ' + fmt(s.duration_s) + ' s' +
                              (s.virtual_time ? ' (virtual)' : '');
  $('wall').textContent = fmt(s.wall_s) + ' s';
  $('nodes-up').textContent = s.nodes_up + ' / ' + s.nodes_total;
  $('height').textContent = s.height_min + ' .. ' + s.height_max;
  $('txs').textContent = s.txs_included + ' / ' + s.txs_submitted;
  $('msgs').textContent = s.messages;
  $('drops').textContent = s.drops;
  $('faults').textContent = s.active_faults.length + ' active, ' + s.faults_total + ' total' +
                            (s.active_faults.length ? ': ' + s.active_faults.join('; ') : '');
  const h = s.history;
  chart('chart-height', h.time_s, [{n: 'max', c: '#1f77b4', v: h.height_max},
                                   {n: 'median', c: '#2ca02c', v: h.height_median},
                                   {n: 'min', c: '#d62728', v: h.height_min}]);
  chart('chart-msgs', h.time_s, [{n: 'messages', c: '#1f77b4', v: rates(h.messages)},
                                 {n: 'drops', c: '#d62728', v: rates(h.drops)}]);
}
async function refresh() {
  try {
    const r = await fetch('/api/status', {cache: 'no-store'});
    const s = await r.json();
    show(s);
    refreshes++;
    document.body.dataset.refreshes = refreshes;
    $('updated').textContent = new Date().toLocaleTimeString() + ' (#' + refreshes + ')';
    if (s.phase === 'done') return;
  } catch (e) {
    $('updated').textContent = 'run ended or unreachable';
    return;
  }
  setTimeout(refresh, 1000);
}
show(INITIAL);
refresh();
)JS";

} // namespace

std::string dashboard_page(const live_snapshot& s) {
  auto j = s.to_json();
  auto cell = [](const char* id, const std::string& v) {
    return std::string("<span id=\"") + id + "\">" + html_escape(v) + "</span>";
  };
  std::string out;
  out +=
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>troupe: " + html_escape(s.scenario) +
    "</title><style>" + dashboard_style + "</style></head><body>";
  out += "<h1>" + html_escape(s.scenario) + " <small>(" + html_escape(s.backend) +
         ")</small></h1><table>";
  out += "<tr><td>phase</td><td>" + cell("phase", s.phase) + "</td></tr>";
  out += "<tr><td>run time</td><td>" + cell("run-time", std::to_string(s.run_s)) + "</td></tr>";
  out += "<tr><td>wall time</td><td>" + cell("wall", std::to_string(s.wall_s)) + "</td></tr>";
  out += "<tr><td>nodes up</td><td>" +
         cell("nodes-up", std::to_string(s.nodes_up) + " / " + std::to_string(s.nodes_total)) +
         "</td></tr>";
  out += "<tr><td>height</td><td>" +
         cell("height", std::to_string(s.height_min) + " .. " + std::to_string(s.height_max)) +
         "</td></tr>";
  out += "<tr><td>txs included / submitted</td><td>" +
         cell("txs", std::to_string(s.txs_included) + " / " + std::to_string(s.txs_submitted)) +
         "</td></tr>";
  out += "<tr><td>messages</td><td>" + cell("msgs", std::to_string(s.messages)) + "</td></tr>";
  out += "<tr><td>drops</td><td>" + cell("drops", std::to_string(s.drops)) + "</td></tr>";
  out += "<tr><td>faults</td><td>" + cell("faults", std::to_string(s.active_faults.size())) +
         "</td></tr>";
  out += "<tr><td>updated</td><td>" + cell("updated", "not yet") + "</td></tr></table>";
  out += "<h2>height over up nodes (max, median, min)</h2>"
         "<svg id=\"chart-height\" width=\"640\" height=\"160\" viewBox=\"0 0 640 160\"></svg>";
  out += "<h2>messages and drops per sample</h2>"
         "<svg id=\"chart-msgs\" width=\"640\" height=\"160\" viewBox=\"0 0 640 160\"></svg>";
  // "</" inside a script would end it early: JSON from the run must not be able to.
  out += "<script>const INITIAL = " + script_safe(j.dump()) + ";\n" + dashboard_chart_script +
         page_script + "</script></body></html>";
  return out;
}

dashboard::dashboard(views v, int port)
  : server_(std::make_unique<httplib::Server>()) {
  auto page = v.page, status = v.status_json;
  auto name = v.server;
  server_->Get("/", [page, name](const httplib::Request&, httplib::Response& res) {
    res.set_content(page(), "text/html; charset=utf-8");
    metrics::http_request(name, "/", 200);
  });
  server_->Get("/api/status", [status, name](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(status(), "application/json");
    metrics::http_request(name, "/api/status", 200);
  });
  server_->set_error_handler([name](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404)
      metrics::http_request(name, "other", 404);
  });
  if (port == 0)
    port_ = server_->bind_to_any_port("127.0.0.1");
  else
    port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
  if (port_ <= 0)
    throw user_error(v.flag + " " + std::to_string(port) +
                     ": cannot listen on 127.0.0.1 (port in use?); choose another port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

dashboard::dashboard(std::shared_ptr<const live_status> status, int port)
  : dashboard(views{[status] { return dashboard_page(status->get()); },
                    [status] { return status->get().to_json().dump(); }},
              port) {}

dashboard::~dashboard() {
  server_->stop();
  if (thread_.joinable())
    thread_.join();
}

} // namespace troupe
