#include "jobs/pg_store.hpp"

#include "jobs/pg_connection.hpp"

#include "actors/errors.hpp"
#include "jobs/store_rows.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <endian.h>
#include <unistd.h>

namespace troupe::jobs {

namespace {

/// The schema this troupe writes. Version 3 is the SQLite store's version 3 (fencing tokens,
/// client tokens), version 4 adds row versions (several orchestrators on one database), so
/// one number means one set of columns in both stores. No PostgreSQL database older than 3
/// exists (the store was born at 3).
constexpr int pg_schema_version = 4;
constexpr int pg_schema_version_min = 3;
/// pg_migrations[v - pg_schema_version_min] turns version v into v+1, in the transaction that
/// checks the schema (under the schema lock), with the version bump.
constexpr const char* pg_migrations[] = {
  // 3 -> 4: row versions. Existing rows get version 0, which every engine's first round
  // reads (it starts below 0).
  "ALTER TABLE jobs ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;"
  "CREATE SEQUENCE IF NOT EXISTS jobs_rev;"
  "CREATE INDEX IF NOT EXISTS jobs_by_rev ON jobs(rev);",
};
static_assert(sizeof pg_migrations / sizeof *pg_migrations ==
              pg_schema_version - pg_schema_version_min);
/// Serialises schema creation between processes opening one new database at once.
constexpr long long schema_lock_key = 0x54525551;

constexpr const char* pg_schema_sql = R"(
CREATE TABLE IF NOT EXISTS jobs(
  id BIGINT PRIMARY KEY,
  type BYTEA NOT NULL,
  key BIGINT,
  status TEXT NOT NULL,
  process_attempts INTEGER NOT NULL,
  verification_attempts INTEGER NOT NULL,
  lease_owner BYTEA NOT NULL,
  lease_expiry_ms BIGINT NOT NULL,
  not_before_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  finished_ms BIGINT NOT NULL,
  completions INTEGER NOT NULL,
  deps BYTEA NOT NULL,
  payload BYTEA NOT NULL,
  result BYTEA NOT NULL,
  errors BYTEA NOT NULL,
  fence BIGINT NOT NULL DEFAULT 0,
  rev BIGINT NOT NULL DEFAULT 0);
CREATE SEQUENCE IF NOT EXISTS jobs_rev;
CREATE INDEX IF NOT EXISTS jobs_by_rev ON jobs(rev);
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
  digest TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  created_ms BIGINT NOT NULL);
)";

/// The jobs table's columns as information_schema names them: anything else is not ours.
constexpr const char* expected_columns =
  "id:bigint,type:bytea,key:bigint,status:text,process_attempts:integer,"
  "verification_attempts:integer,lease_owner:bytea,lease_expiry_ms:bigint,"
  "not_before_ms:bigint,created_ms:bigint,updated_ms:bigint,finished_ms:bigint,"
  "completions:integer,deps:bytea,payload:bytea,result:bytea,errors:bytea,fence:bigint,";
/// Version 4 added this one.
constexpr const char* rev_column = "rev:bigint,";

constexpr const char* upsert_sql =
  "INSERT INTO jobs(id,type,key,status,process_attempts,verification_attempts,lease_owner,"
  "lease_expiry_ms,not_before_ms,created_ms,updated_ms,finished_ms,completions,deps,payload,"
  "result,errors,fence,rev) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,"
  "$18,nextval('jobs_rev')) "
  "ON CONFLICT(id) DO UPDATE SET type=EXCLUDED.type,key=EXCLUDED.key,status=EXCLUDED.status,"
  "process_attempts=EXCLUDED.process_attempts,verification_attempts=EXCLUDED."
  "verification_attempts,lease_owner=EXCLUDED.lease_owner,lease_expiry_ms=EXCLUDED."
  "lease_expiry_ms,not_before_ms=EXCLUDED.not_before_ms,created_ms=EXCLUDED.created_ms,"
  "updated_ms=EXCLUDED.updated_ms,finished_ms=EXCLUDED.finished_ms,completions=EXCLUDED."
  "completions,deps=EXCLUDED.deps,payload=EXCLUDED.payload,result=EXCLUDED.result,errors="
  "EXCLUDED.errors,fence=EXCLUDED.fence,rev=EXCLUDED.rev WHERE jobs.fence <= EXCLUDED.fence";

constexpr const char* columns_sql =
  "SELECT id,type,key,status,process_attempts,verification_attempts,lease_owner,"
  "lease_expiry_ms,not_before_ms,created_ms,updated_ms,finished_ms,completions,deps,payload,"
  "result,errors,fence,rev FROM jobs ";
constexpr int columns_count = 19;
/// The latest row version drawn (by anyone: read under the round lock, it is this round's).
constexpr const char* last_rev_sql =
  "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM jobs_rev";

using result = pg_result;

// Binary results (resultFormat 1): integers in network byte order, BYTEA and TEXT raw.
int64_t int8_at(PGresult* r, int row, int col) {
  uint64_t v;
  std::memcpy(&v, PQgetvalue(r, row, col), 8);
  return static_cast<int64_t>(be64toh(v));
}
int32_t int4_at(PGresult* r, int row, int col) {
  uint32_t v;
  std::memcpy(&v, PQgetvalue(r, row, col), 4);
  return static_cast<int32_t>(be32toh(v));
}
std::string bytes_at(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

} // namespace

std::string pg_store::redact(const std::string& url) { return pg_redact(url); }

std::unique_ptr<pg_store> pg_store::open(const std::string& url, open_mode mode) {
  std::unique_ptr<pg_store> s{new pg_store};
  s->path_ = redact(url);
  s->connect(url);
  if (PQserverVersion(s->conn_) < 90500)
    s->fail("runs PostgreSQL " + std::to_string(PQserverVersion(s->conn_)) +
            ", older than 9.5 (no ON CONFLICT)");
  s->exec("SET client_min_messages=warning");
  s->ensure_schema(mode);
  result prep{PQprepare(s->conn_, "upsert", upsert_sql, 18, nullptr)};
  if (!prep.ok())
    s->fail("cannot prepare statements: " + prep.error());
  return s;
}

void pg_store::connect(const std::string& url) {
  conn_ =
    pg_connect(url, "job database", "--store", "troupe jobs pid " + std::to_string(::getpid()));
}

pg_store::~pg_store() {
  if (conn_)
    PQfinish(conn_);
}

void pg_store::fail(const std::string& what) {
  throw user_error("job database '" + path_ + "' " + what +
                   ": pass another --store URL, or another database in it");
}

void pg_store::exec(const char* sql) {
  result r{PQexec(conn_, sql)};
  if (!r.ok())
    fail("is not usable (" + r.error() + ")");
}

void pg_store::ensure_schema(open_mode mode) {
  exec("BEGIN");
  {
    const std::string lock =
      "SELECT pg_advisory_xact_lock(" + std::to_string(schema_lock_key) + ")";
    exec(lock.c_str());
  }
  result found{PQexec(conn_, "SELECT to_regclass('meta') IS NOT NULL, to_regclass('jobs') IS "
                             "NOT NULL, to_regclass('tokens') IS NOT NULL")};
  if (!found.ok())
    fail("cannot be read (" + found.error() + ")");
  const bool has_meta = PQgetvalue(found.r, 0, 0)[0] == 't';
  const bool has_jobs = PQgetvalue(found.r, 0, 1)[0] == 't';
  const bool has_tokens = PQgetvalue(found.r, 0, 2)[0] == 't';
  if (!has_meta && !has_jobs && !has_tokens) {
    if (mode == open_mode::must_exist) {
      exec("ROLLBACK");
      fail("holds no job campaign (no troupe tables in its schema)");
    }
    exec(pg_schema_sql);
    set_meta("schema_version", std::to_string(pg_schema_version));
    set_meta("application", "troupe jobs");
    exec("COMMIT");
    return;
  }
  std::optional<std::string> version;
  if (has_meta) {
    result v{PQexec(conn_, "SELECT v FROM meta WHERE k='schema_version'")};
    if (v.ok() && PQntuples(v.r) == 1)
      version = PQgetvalue(v.r, 0, 0);
  }
  if (!has_meta || !has_jobs || !has_tokens || !version) {
    exec("ROLLBACK");
    fail("holds tables (meta, jobs or tokens) that are not a troupe job campaign's");
  }
  int v = 0;
  for (char c : *version)
    v = c >= '0' && c <= '9' && v < 1000 ? v * 10 + (c - '0') : 1 << 20;
  if (v < pg_schema_version_min || v > pg_schema_version) {
    exec("ROLLBACK");
    fail("has schema version " + version->substr(0, 32) + ", this troupe reads " +
         std::to_string(pg_schema_version_min) + " to " + std::to_string(pg_schema_version));
  }
  check_columns(v);
  for (; v < pg_schema_version; ++v) {
    exec(pg_migrations[v - pg_schema_version_min]);
    set_meta("schema_version", std::to_string(v + 1));
  }
  exec("COMMIT");
}

void pg_store::check_columns(int version) {
  result cols{PQexec(conn_, "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = 'jobs' "
                            "ORDER BY ordinal_position")};
  std::string have;
  if (cols.ok())
    for (int i = 0; i < PQntuples(cols.r); ++i)
      have += std::string(PQgetvalue(cols.r, i, 0)) + ":" + PQgetvalue(cols.r, i, 1) + ",";
  if (have != std::string(expected_columns) + (version >= 4 ? rev_column : "")) {
    exec("ROLLBACK");
    fail("holds a table 'jobs' that is not a troupe job campaign's (columns " +
         have.substr(0, 120) + ")");
  }
}

void pg_store::take_writer_lock(const char* function, const std::string& refusal) {
  // Waits a little: a writer killed a moment ago holds the lock until its backend sees the
  // closed connection (milliseconds), and a restart must not fail on that.
  exec("SET lock_timeout = '5s'");
  const std::string sql =
    std::string("SELECT ") + function + "(" + std::to_string(writer_lock_key) + ")";
  result r{PQexec(conn_, sql.c_str())};
  exec("SET lock_timeout = 0");
  if (r.ok())
    return;
  const char* state = PQresultErrorField(r.r, PG_DIAG_SQLSTATE);
  if (!state || std::string(state) != "55P03") // lock_not_available: someone holds it
    fail("cannot be locked (" + r.error() + ")");
  // Name the holder: its application_name carries its pid (see connect).
  const std::string who_sql =
    "SELECT coalesce(a.application_name,'?') || ' from ' || coalesce(host(a.client_addr),"
    "'a unix socket') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
    "l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid() AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) AND l.classid = 0 AND "
    "l.objid = " +
    std::to_string(writer_lock_key);
  result who{PQexec(conn_, who_sql.c_str())};
  const std::string holder =
    who.ok() && PQntuples(who.r) > 0 ? std::string(PQgetvalue(who.r, 0, 0)) : "another process";
  throw user_error("job database '" + path_ + "' is already served by " + holder + refusal);
}

void pg_store::lock_for_writing() {
  if (writer_)
    return;
  take_writer_lock("pg_advisory_lock",
                   ": a replay-test campaign (or a tool editing the database offline) has the "
                   "database to itself; stop the other, or reach it with --url");
  writer_ = true;
}

void pg_store::join_shared() {
  if (shared_)
    return;
  take_writer_lock("pg_advisory_lock_shared",
                   " alone (a replay-test campaign, whose face keeps state of its own, is served "
                   "by one `troupe jobs serve` at a time): stop it, or reach it with --url");
  shared_ = true;
  seen_rev_ = -1;
  // A round holds the lock every engine's round waits for: an orchestrator stopped in the
  // middle of one (SIGSTOP, a debugger) would hold up the campaign. The server ends such a
  // session (and with it its locks, the leader's among them) after this long.
  if (PQserverVersion(conn_) >= 90600)
    exec("SET idle_in_transaction_session_timeout = '10s'");
}

bool pg_store::leads() {
  if (!shared_ || leader_)
    return true;
  const std::string sql = "SELECT pg_try_advisory_lock(" + std::to_string(leader_lock_key) + ")";
  result r{PQexec(conn_, sql.c_str())};
  if (!r.ok())
    fail("cannot be locked (" + r.error() + ")");
  leader_ = PQgetvalue(r.r, 0, 0)[0] == 't';
  return leader_;
}

bool pg_store::send_begin() {
  const std::string lock = "SELECT pg_advisory_xact_lock(" + std::to_string(round_lock_key) + ")";
  return PQsendQueryParams(conn_, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
         PQsendQueryParams(conn_, lock.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
}

std::string pg_store::drain_pipeline(std::vector<job>* rows, int64_t* last_value) {
  // Every answer up to the sync is read (an error aborts the rest of the pipeline, which
  // the server then rolls back with the transaction).
  std::string error;
  for (;;) {
    PGresult* raw = PQgetResult(conn_);
    if (!raw) {
      if (PQstatus(conn_) != CONNECTION_OK)
        return error.empty() ? pg_message(conn_) : error;
      continue; // the end of one statement's results
    }
    result r{raw};
    const auto st = r.status();
    if (st == PGRES_PIPELINE_SYNC)
      return error;
    if (st == PGRES_FATAL_ERROR && error.empty())
      error = r.error();
    if (st != PGRES_TUPLES_OK || PQntuples(r.r) == 0)
      continue;
    if (rows && PQnfields(r.r) == columns_count)
      *rows = rows_of(r.r);
    else if (last_value && PQnfields(r.r) == 1 && PQgetlength(r.r, 0, 0) > 0)
      *last_value = std::stoll(PQgetvalue(r.r, 0, 0));
  }
}

std::vector<job> pg_store::begin_round() {
  if (in_round_)
    return {};
  if (PQenterPipelineMode(conn_) != 1)
    fail("cannot start a pipeline (" + pg_message(conn_) + ")");
  // One round trip: the transaction, its lock, and what changed since this engine's last
  // round (the lock's holders before it have committed, so READ COMMITTED sees it all).
  const std::string since = std::to_string(seen_rev_);
  const char* v[] = {since.c_str()};
  const std::string changed = std::string(columns_sql) + "WHERE rev > $1 ORDER BY id";
  bool sent = send_begin() &&
              PQsendQueryParams(conn_, changed.c_str(), 1, nullptr, v, nullptr, nullptr, 1) == 1 &&
              PQpipelineSync(conn_) == 1;
  std::vector<job> rows;
  std::string error = sent ? drain_pipeline(&rows, nullptr) : pg_message(conn_);
  PQexitPipelineMode(conn_);
  if (!error.empty()) {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE)
      PQclear(PQexec(conn_, "ROLLBACK"));
    fail("refused a round (" + error + ")");
  }
  in_round_ = true;
  return rows;
}

void pg_store::write(const std::vector<const job*>& jobs) {
  if (jobs.empty() && !in_round_)
    return;
  if (!shared_)
    lock_for_writing();
  // One pipeline: every statement goes out before any answer is read, so a batch of any
  // size costs one round trip and one commit (a round's BEGIN went out with its reads).
  if (PQenterPipelineMode(conn_) != 1)
    fail("cannot start a pipeline (" + pg_message(conn_) + ")");
  const bool round = in_round_;
  in_round_ = false;
  bool sent = round || send_begin();
  std::string ints[9];
  for (const job* j : jobs) {
    if (!sent)
      break;
    const std::string status{to_string(j->status)};
    const std::string deps = detail::deps_to_text(*j);
    ints[0] = std::to_string(j->id);
    ints[1] = j->key ? std::to_string(*j->key) : std::string();
    ints[2] = std::to_string(j->process_attempts);
    ints[3] = std::to_string(j->verification_attempts);
    ints[4] = std::to_string(j->lease_expiry_ms);
    ints[5] = std::to_string(j->not_before_ms);
    ints[6] = std::to_string(j->created_ms);
    ints[7] = std::to_string(j->updated_ms);
    ints[8] = std::to_string(j->finished_ms);
    const std::string completions = std::to_string(j->completions);
    const std::string fence = std::to_string(j->fence);
    const char* v[18] = {
      ints[0].c_str(),       j->type.data(),   j->key ? ints[1].c_str() : nullptr,
      status.c_str(),        ints[2].c_str(),  ints[3].c_str(),
      j->lease_owner.data(), ints[4].c_str(),  ints[5].c_str(),
      ints[6].c_str(),       ints[7].c_str(),  ints[8].c_str(),
      completions.c_str(),   deps.data(),      j->payload.data(),
      j->result.data(),      j->errors.data(), fence.c_str()};
    // BYTEA columns go as binary (exact bytes, no escaping); numbers and status as text.
    int len[18] = {0};
    int fmt[18] = {0};
    const int bytea_cols[] = {1, 6, 13, 14, 15, 16};
    const std::string* bytea_vals[] = {&j->type,    &j->lease_owner, &deps,
                                       &j->payload, &j->result,      &j->errors};
    for (int i = 0; i < 6; ++i) {
      fmt[bytea_cols[i]] = 1;
      len[bytea_cols[i]] = static_cast<int>(bytea_vals[i]->size());
    }
    sent = PQsendQueryPrepared(conn_, "upsert", 18, v, len, fmt, 0) == 1;
  }
  // In a round, the versions this one drew are the latest: everything up to them is known.
  sent = sent && (!round || PQsendQueryParams(conn_, last_rev_sql, 0, nullptr, nullptr, nullptr,
                                              nullptr, 0) == 1);
  sent = sent && PQsendQueryParams(conn_, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  sent = sent && PQpipelineSync(conn_) == 1;
  int64_t last = seen_rev_;
  std::string error = sent ? drain_pipeline(nullptr, &last) : pg_message(conn_);
  PQexitPipelineMode(conn_);
  if (!error.empty()) {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE)
      PQclear(PQexec(conn_, "ROLLBACK"));
    fail("rejected a write (" + error + ")");
  }
  if (round)
    seen_rev_ = last;
  rows_written_ += jobs.size();
  if (!jobs.empty())
    ++commits_;
}

void pg_store::set_meta(const std::string& key, const std::string& value) {
  const char* v[] = {key.c_str(), value.c_str()};
  result r{PQexecParams(conn_,
                        "INSERT INTO meta(k,v) VALUES($1,$2) ON CONFLICT(k) DO UPDATE SET v=$2", 2,
                        nullptr, v, nullptr, nullptr, 0)};
  if (!r.ok())
    fail("rejected a write (" + r.error() + ")");
}

void pg_store::add_token(const std::string& digest, const std::string& scope, int64_t created_ms) {
  const std::string created = std::to_string(created_ms);
  const char* v[] = {digest.c_str(), scope.c_str(), created.c_str()};
  result r{PQexecParams(conn_, "INSERT INTO tokens(digest,scope,created_ms) VALUES($1,$2,$3)", 3,
                        nullptr, v, nullptr, nullptr, 0)};
  if (!r.ok())
    fail("rejected a new token (" + r.error() + ")");
}

std::vector<std::pair<std::string, std::string>> pg_store::tokens() {
  result r{PQexec(conn_, "SELECT digest,scope FROM tokens ORDER BY digest")};
  if (!r.ok())
    fail("cannot be read (" + r.error() + ")");
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < PQntuples(r.r); ++i)
    out.emplace_back(PQgetvalue(r.r, i, 0), PQgetvalue(r.r, i, 1));
  return out;
}

std::optional<std::string> pg_store::meta(const std::string& key) {
  const char* v[] = {key.c_str()};
  result r{
    PQexecParams(conn_, "SELECT v FROM meta WHERE k=$1", 1, nullptr, v, nullptr, nullptr, 0)};
  if (!r.ok())
    fail("cannot be read (" + r.error() + ")");
  if (PQntuples(r.r) == 0)
    return std::nullopt;
  return std::string(PQgetvalue(r.r, 0, 0));
}

std::vector<job> pg_store::load_all() {
  const std::string all = std::string(columns_sql) + "ORDER BY id";
  result r{PQexecParams(conn_, all.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1)};
  if (!r.ok())
    fail("cannot be read (" + r.error() + ")");
  return rows_of(r.r);
}

std::vector<job> pg_store::rows_of(PGresult* r) {
  std::vector<job> out;
  const int n = PQntuples(r);
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    job j;
    j.id = int8_at(r, i, 0);
    j.type = bytes_at(r, i, 1);
    if (!PQgetisnull(r, i, 2))
      j.key = int8_at(r, i, 2);
    auto st = status_from_string(bytes_at(r, i, 3));
    if (!st)
      fail("holds job " + std::to_string(j.id) + " with an unknown status");
    j.status = *st;
    j.process_attempts = int4_at(r, i, 4);
    j.verification_attempts = int4_at(r, i, 5);
    j.lease_owner = bytes_at(r, i, 6);
    j.lease_expiry_ms = int8_at(r, i, 7);
    j.not_before_ms = int8_at(r, i, 8);
    j.created_ms = int8_at(r, i, 9);
    j.updated_ms = int8_at(r, i, 10);
    j.finished_ms = int8_at(r, i, 11);
    j.completions = int4_at(r, i, 12);
    detail::deps_from_text(bytes_at(r, i, 13), j);
    j.payload = bytes_at(r, i, 14);
    j.result = bytes_at(r, i, 15);
    j.errors = bytes_at(r, i, 16);
    j.fence = int8_at(r, i, 17);
    seen_rev_ = std::max(seen_rev_, int8_at(r, i, 18));
    out.push_back(std::move(j));
  }
  return out;
}

} // namespace troupe::jobs
