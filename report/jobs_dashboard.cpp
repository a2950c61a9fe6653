#include "report/jobs_dashboard.hpp"

#include "report/dashboard.hpp"
#include "report/report_html.hpp"

namespace troupe::jobs {

namespace {

// Fills the figures and tables and redraws the two charts from a snapshot. `data-refreshes`
// on <body> counts successful refreshes, so a test (or a curious user) can see it is live.
constexpr const char* page_script = R"JS(
let refreshes = 0;
const palette = ['#1f77b4', '#2ca02c', '#d62728', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                 '#7f7f7f', '#bcbd22', '#17becf'];
const esc = s => String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;',
                                                     '"': '&quot;'}[c]));
function rows(id, head, body) {
  $(id).innerHTML = '<tr>' + head.map(h => '<th>' + esc(h) + '</th>').join('') + '</tr>' +
    (body.length ? body.map(r => '<tr>' + r.map(c => '<td>' + esc(fmt(c)) + '</td>').join('') +
                                 '</tr>').join('')
                 : '<tr><td colspan="' + head.length + '">none</td></tr>');
}
function done(by) { return (by.completed || 0) + (by.COMPLETE || 0); }
function show(s) {
  $('phase').textContent = s.phase;
  $('uptime').textContent = fmt(s.uptime_s) + ' s';
  $('total').textContent = s.jobs.total;
  $('done').textContent = done(s.by_status) + ' / ' + s.jobs.total;
  const refused = s.jobs.refused || {};
  $('refused').textContent = (refused.stale_fence || 0) + ' stale lease, ' +
    (refused.not_owner || 0) + ' not the owner';
  const h = s.history, n = h.time_s.length;
  const completions = h.by_status.completed || h.by_status.COMPLETE || h.time_s.map(() => 0);
  const dt = n > 1 ? h.time_s[n - 1] - h.time_s[n - 2] : 0;
  $('rate').textContent = dt > 0 ? fmt((completions[n - 1] - completions[n - 2]) / dt) + ' /s'
                                 : '-';
  if (s.replay_summary) {
    const r = s.replay_summary;
    $('blocks').textContent = r.blocks_processed + ' / ' + r.total_blocks + ' (' +
      (r.total_blocks ? fmt(100 * r.blocks_processed / r.total_blocks) : 0) + '%)';
  }
  rows('by-status', ['status', 'jobs'], Object.entries(s.by_status));
  rows('failed', ['job', 'type', 'key'], s.jobs.failed.map(f => [f.id, f.type, f.key]));
  const ph = [];
  for (const [type, phases] of Object.entries(s.phases))
    for (const [phase, p] of Object.entries(phases))
      ph.push([type, phase, p.count, p.p50, p.p90, p.p99]);
  rows('phases', ['type', 'phase', 'count', 'p50 s', 'p90 s', 'p99 s'], ph);
  rows('requests', ['route', 'code', 'requests'], s.requests.map(r => [r.route, r.code, r.count]));
  chart('chart-status', h.time_s, Object.entries(h.by_status).map(([k, v], i) =>
    ({n: k, c: palette[i % palette.length], v: v})));
  chart('chart-done', h.time_s, [{n: 'completed per sample', c: '#2ca02c', v: rates(completions)}]);
  $('legend').innerHTML = Object.keys(h.by_status).map((k, i) =>
    '<span style="color:' + palette[i % palette.length] + '">&#9632; ' + esc(k) + '</span>')
    .join(' ');
}
async function refresh() {
  try {
    const r = await fetch('/api/status', {cache: 'no-store'});
    show(await r.json());
    refreshes++;
    document.body.dataset.refreshes = refreshes;
    $('updated').textContent = new Date().toLocaleTimeString() + ' (#' + refreshes + ')';
  } catch (e) {
    $('updated').textContent = 'server stopped or unreachable';
  }
  setTimeout(refresh, 1000);
}
show(INITIAL);
refresh();
)JS";

} // namespace

std::string jobs_dashboard_page(const nlohmann::json& s) {
  auto row = [](const char* label, const char* id) {
    return std::string("<tr><td>") + label + "</td><td><span id=\"" + id + "\"></span></td></tr>";
  };
  const std::string db = s.value("db", "");
  std::string out =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>troupe jobs: " + html_escape(db) +
    "</title><style>" + dashboard_style +
    "th { text-align: left; color: #666; font-weight: normal; padding-right: "
    "12px; }</style></head><body>";
  out += "<h1>troupe jobs <small>" + html_escape(db) + " — " + html_escape(s.value("url", "")) +
         "</small></h1><table>";
  out += row("state", "phase") + row("up for", "uptime") + row("jobs", "total") +
         row("completed", "done") + row("completion rate", "rate") +
         row("reports refused", "refused");
  if (s.value("replay", false))
    out += row("blocks processed", "blocks");
  out += row("updated", "updated") + "</table>";
  out += "<h2>jobs by status</h2><table id=\"by-status\"></table>";
  out += "<h2>jobs by status over time</h2><div id=\"legend\"></div>"
         "<svg id=\"chart-status\" width=\"640\" height=\"160\" viewBox=\"0 0 640 160\"></svg>";
  out += "<h2>completions per sample</h2>"
         "<svg id=\"chart-done\" width=\"640\" height=\"160\" viewBox=\"0 0 640 160\"></svg>";
  out += "<h2>failure queue (first 20; retry with <code>troupe jobs retry ID</code>)</h2>"
         "<table id=\"failed\"></table>";
  out += "<h2>time in each phase</h2><table id=\"phases\"></table>";
  out += "<h2>requests answered</h2><table id=\"requests\"></table>";
  out += "<script>const INITIAL = " + script_safe(s.dump()) + ";\n" + dashboard_chart_script +
         page_script + "</script></body></html>";
  return out;
}

} // namespace troupe::jobs
