#include "report/events_db.hpp"

#include <unistd.h>

#include <deque>

#include "actors/errors.hpp"
#include "actors/log_scan.hpp"
#include "jobs/pg_connection.hpp"

namespace troupe::report {

namespace {

using jobs::pg_result;
using nlohmann::json;

/// The advisory lock that serialises schema creation between runs recording at once.
constexpr long long schema_lock_key = 0x54525645; // "TRVE"

const char* const schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS troupe_events_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS troupe_runs (
  run_id text PRIMARY KEY,
  scenario text NOT NULL,
  seed numeric(20) NOT NULL,
  backend text NOT NULL,
  verdict text NOT NULL,
  error text NOT NULL,
  digest text NOT NULL,
  run_dir text NOT NULL,
  run_seconds double precision,
  wall_seconds double precision,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  report jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS troupe_run_events (
  run_id text NOT NULL REFERENCES troupe_runs ON DELETE CASCADE,
  seq integer NOT NULL,
  time_s double precision NOT NULL,
  kind text NOT NULL,
  action text NOT NULL,
  nodes jsonb NOT NULL,
  until_s double precision,
  detail text NOT NULL,
  PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS troupe_verdicts (
  run_id text NOT NULL REFERENCES troupe_runs ON DELETE CASCADE,
  name text NOT NULL,
  kind text NOT NULL,
  pass boolean NOT NULL,
  summary text NOT NULL,
  evidence jsonb NOT NULL,
  PRIMARY KEY (run_id, name));
CREATE TABLE IF NOT EXISTS troupe_node_log_lines (
  run_id text NOT NULL REFERENCES troupe_runs ON DELETE CASCADE,
  node text NOT NULL,
  line_no bigint NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (run_id, node, line_no));
)sql";

/// `s` as valid UTF-8 without NUL: each byte that does not start or continue a valid
/// sequence becomes U+FFFD (PostgreSQL's text refuses both).
std::string utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= n && c != 0;
    for (size_t k = 1; ok && k < len; ++k)
      ok = (p[i + k] & 0xC0) == 0x80;
    // Overlong forms and surrogates are invalid too.
    if (ok && len == 2)
      ok = c >= 0xC2;
    if (ok && len == 3)
      ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);
    if (ok && len == 4)
      ok = c <= 0xF4 && !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90);
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

/// One row of COPY's text format, appended to `out`: fields separated by tabs, backslash
/// escapes, \N for null.
class copy_row {
public:
  explicit copy_row(std::string& out)
    : out_(out) {}
  ~copy_row() { out_ += '\n'; }
  copy_row(const copy_row&) = delete;
  copy_row& operator=(const copy_row&) = delete;

  copy_row& text(const std::string& s) {
    separate();
    for (char c : utf8(s)) {
      switch (c) {
        case '\\':
          out_ += "\\\\";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        default:
          out_ += c;
      }
    }
    return *this;
  }
  copy_row& null() {
    separate();
    out_ += "\\N";
    return *this;
  }

private:
  void separate() {
    if (!first_)
      out_ += '\t';
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

/// JSON text jsonb accepts: invalid UTF-8 replaced, and \u0000 (which jsonb refuses) as U+FFFD.
std::string jsonb_text(const json& j) {
  auto text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  for (auto at = text.find("\\u0000"); at != std::string::npos; at = text.find("\\u0000", at))
    text.replace(at, 6, "\\ufffd");
  return text;
}

std::string seconds(int64_t ns) { return std::to_string(static_cast<double>(ns) / 1e9); }

std::string string_at(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string{};
}

} // namespace

events_db::events_db(events_db_options o)
  : o_(std::move(o)) {
  where_ = "events database '" + jobs::pg_redact(o_.url) + "'";
  conn_ = jobs::pg_connect(o_.url, "events database", "--events-db",
                           "troupe run pid " + std::to_string(::getpid()));
  exec("SET client_min_messages=warning");
  ensure_schema();
}

events_db::~events_db() {
  if (conn_)
    PQfinish(conn_);
}

void events_db::fail(const std::string& what) const {
  throw user_error(where_ + " " + what +
                   ": pass another --events-db URL, or another database in it");
}

void events_db::exec(const std::string& sql) {
  pg_result r{PQexec(conn_, sql.c_str())};
  if (!r.ok())
    fail("failed (" + r.error() + ")");
}

void events_db::ensure_schema() {
  exec("BEGIN");
  exec("SELECT pg_advisory_xact_lock(" + std::to_string(schema_lock_key) + ")");
  exec(schema_sql);
  pg_result r{PQexec(conn_, "SELECT value FROM troupe_events_meta WHERE key='schema_version'")};
  if (!r.ok())
    fail("cannot read its schema version (" + r.error() + ")");
  if (PQntuples(r.r) == 0) {
    exec("INSERT INTO troupe_events_meta VALUES('schema_version','" +
         std::to_string(schema_version) + "')");
  } else if (std::string(PQgetvalue(r.r, 0, 0)) != std::to_string(schema_version)) {
    exec("ROLLBACK");
    fail(std::string("holds tables of schema version ") + PQgetvalue(r.r, 0, 0) +
         " and this troupe writes version " + std::to_string(schema_version));
  }
  exec("COMMIT");
}

void events_db::copy(const std::string& table_and_columns, const std::string& rows) {
  pg_result start{PQexec(conn_, ("COPY " + table_and_columns + " FROM STDIN").c_str())};
  if (start.status() != PGRES_COPY_IN)
    fail("refused COPY into " + table_and_columns + " (" + start.error() + ")");
  if (PQputCopyData(conn_, rows.data(), static_cast<int>(rows.size())) != 1 ||
      PQputCopyEnd(conn_, nullptr) != 1)
    fail("dropped the connection during COPY (" + jobs::pg_message(conn_) + ")");
  pg_result end{PQgetResult(conn_)};
  if (!end.ok())
    fail("refused the rows of " + table_and_columns + " (" + end.error() + ")");
  while (PGresult* more = PQgetResult(conn_))
    PQclear(more);
}

std::deque<std::pair<uint64_t, std::string>>
events_db::last_lines(const std::filesystem::path& log) const {
  std::deque<std::pair<uint64_t, std::string>> last;
  if (o_.log_lines_per_node_max == 0)
    return last;
  read_log_lines(log, log_bytes_max, [&](const std::string& line, uint64_t number) {
    last.emplace_back(number, line);
    if (last.size() > o_.log_lines_per_node_max)
      last.pop_front();
  });
  return last;
}

void events_db::record(const run_outcome& o, const json& report,
                       const std::filesystem::path& run_dir) {
  const std::string run_id = run_dir.filename().string();
  std::string runs, events, verdicts, lines;

  copy_row(runs)
    .text(run_id)
    .text(o.s ? o.s->name : string_at(report, "scenario"))
    .text(report.contains("seed") ? report["seed"].dump() : "0")
    .text(o.backend)
    .text(string_at(report, "verdict"))
    .text(o.error)
    .text(string_at(report, "digest"))
    .text(std::filesystem::absolute(run_dir).string())
    .text(std::to_string(o.run_seconds))
    .text(std::to_string(o.wall_seconds))
    .text(jsonb_text(report));

  for (size_t k = 0; k < o.events.size(); ++k) {
    const auto& ev = o.events[k];
    copy_row row{events};
    row.text(run_id)
      .text(std::to_string(k))
      .text(seconds(ev.time_ns))
      .text(ev.kind)
      .text(ev.action)
      .text(jsonb_text(ev.nodes));
    if (ev.until_ns >= 0)
      row.text(seconds(ev.until_ns));
    else
      row.null();
    row.text(ev.detail);
  }

  for (const auto& v : o.verdicts) {
    auto evidence = json::parse(v.evidence, nullptr, false);
    copy_row(verdicts)
      .text(run_id)
      .text(v.name)
      .text(v.kind)
      .text(v.pass ? "t" : "f")
      .text(v.summary)
      .text(jsonb_text(evidence.is_discarded() ? json(v.evidence) : evidence));
  }

  if (o.topo)
    for (const auto& n : o.topo->nodes)
      for (const auto& [number, line] : last_lines(node_log_path(run_dir, n.id)))
        copy_row(lines).text(run_id).text(n.id).text(std::to_string(number)).text(line);

  exec("BEGIN");
  try {
    pg_result del{PQexecParams(conn_, "DELETE FROM troupe_runs WHERE run_id=$1", 1, nullptr,
                               std::vector<const char*>{run_id.c_str()}.data(), nullptr, nullptr,
                               0)};
    if (!del.ok())
      fail("failed (" + del.error() + ")");
    copy("troupe_runs (run_id,scenario,seed,backend,verdict,error,digest,run_dir,run_seconds,"
         "wall_seconds,report)",
         runs);
    if (!events.empty())
      copy("troupe_run_events (run_id,seq,time_s,kind,action,nodes,until_s,detail)", events);
    if (!verdicts.empty())
      copy("troupe_verdicts (run_id,name,kind,pass,summary,evidence)", verdicts);
    if (!lines.empty())
      copy("troupe_node_log_lines (run_id,node,line_no,line)", lines);
    exec("COMMIT");
  } catch (...) {
    pg_result rollback{PQexec(conn_, "ROLLBACK")};
    throw;
  }
}

} // namespace troupe::report
