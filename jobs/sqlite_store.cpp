#include "jobs/sqlite_store.hpp"

#include "jobs/store_rows.hpp"

#include "actors/errors.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <fstream>
#include <sys/stat.h>

namespace troupe::jobs {

namespace {

constexpr const char* sqlite_schema_sql = R"(
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  key INTEGER,
  status TEXT NOT NULL,
  process_attempts INTEGER NOT NULL,
  verification_attempts INTEGER NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_expiry_ms INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  completions INTEGER NOT NULL,
  deps TEXT NOT NULL,
  payload TEXT NOT NULL,
  result TEXT NOT NULL,
  errors TEXT NOT NULL,
  fence INTEGER NOT NULL DEFAULT 0,
  rev INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
  digest TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
)";

/// The schema this troupe writes, and how each older one becomes the next: sqlite_migrations[v-1]
/// turns version v into v+1, in one transaction with the version bump. A version above ours
/// (a newer troupe's file) is refused, never guessed at.
constexpr int sqlite_schema_version = 4;
constexpr const char* sqlite_migrations[] = {
  // 1 -> 2: fencing tokens (issue 18). Existing claims start at token 0; their workers send
  // none, and the next claim of each job hands out 1.
  "ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;",
  // 2 -> 3: bearer tokens of HTTP clients, SHA-256 digests only (issue 18). The table was
  // made by the schema above already (IF NOT EXISTS); the step records that it is there.
  "CREATE TABLE IF NOT EXISTS tokens(digest TEXT PRIMARY KEY, scope TEXT NOT NULL, "
  "created_ms INTEGER NOT NULL);",
  // 3 -> 4: row versions (issue 18), which PostgreSQL's shared rounds read. A SQLite file
  // has one writer and keeps them 0; the column keeps one version number meaning one set
  // of columns in both stores.
  "ALTER TABLE jobs ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;",
};
static_assert(sizeof sqlite_migrations / sizeof *sqlite_migrations == sqlite_schema_version - 1);

std::string column_text(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i))
           : std::string();
}

} // namespace

using detail::deps_from_text;
using detail::deps_to_text;

std::unique_ptr<sqlite_store> sqlite_store::open(const std::string& path, open_mode mode) {
  std::unique_ptr<sqlite_store> s{new sqlite_store};
  s->path_ = path;
  const bool memory = path == ":memory:";
  struct stat st {};
  const bool exists = memory || ::stat(path.c_str(), &st) == 0;
  if (!exists && mode == open_mode::must_exist)
    throw user_error("job database '" + path +
                     "' does not exist: pass the --db file that `troupe jobs serve` uses");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == open_mode::create)
    flags |= SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &s->db_, flags, nullptr) != SQLITE_OK)
    s->fail("cannot be opened");
  // A corrupt or foreign file shows itself on the first real read: check it up front so the
  // user gets one clear sentence instead of a failure in the middle of a campaign.
  try {
    s->exec("PRAGMA journal_mode=WAL;");
    // NORMAL in WAL mode: a commit survives the process being killed (kill -9); only a power
    // loss can lose the last commits. That is the durability the engine promises.
    s->exec("PRAGMA synchronous=NORMAL;");
    s->exec("PRAGMA temp_store=MEMORY;");
    s->exec("PRAGMA busy_timeout=5000;");
    s->exec(sqlite_schema_sql);
    char* err = nullptr;
    std::string check;
    sqlite3_exec(
      s->db_, "PRAGMA quick_check;",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "";
        return 0;
      },
      &check, &err);
    if (err) {
      std::string e = err;
      sqlite3_free(err);
      s->fail(e);
    }
    if (check != "ok")
      s->fail("failed its integrity check (" + check.substr(0, 120) + ")");
    s->migrate();
  } catch (const user_error&) {
    throw;
  }
  const char* upsert =
    "INSERT OR REPLACE INTO jobs(id,type,key,status,process_attempts,verification_attempts,"
    "lease_owner,lease_expiry_ms,not_before_ms,created_ms,updated_ms,finished_ms,completions,"
    "deps,payload,result,errors,fence) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v3(s->db_, upsert, -1, SQLITE_PREPARE_PERSISTENT, &s->upsert_, nullptr) !=
        SQLITE_OK ||
      sqlite3_prepare_v2(s->db_, "BEGIN", -1, &s->begin_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db_, "COMMIT", -1, &s->commit_, nullptr) != SQLITE_OK)
    s->fail("cannot prepare statements");
  return s;
}

sqlite_store::~sqlite_store() {
  sqlite3_finalize(upsert_);
  sqlite3_finalize(begin_);
  sqlite3_finalize(commit_);
  if (db_)
    sqlite3_close_v2(db_);
}

void sqlite_store::migrate() {
  const auto version = meta("schema_version");
  if (!version) { // a new file: the schema above is the current one
    set_meta("schema_version", std::to_string(sqlite_schema_version));
    return;
  }
  int v = 0;
  for (char c : *version)
    v = c >= '0' && c <= '9' && v < 1000 ? v * 10 + (c - '0') : 1 << 20;
  if (v < 1 || v > sqlite_schema_version)
    fail("has schema version " + version->substr(0, 32) + ", this troupe reads 1 to " +
         std::to_string(sqlite_schema_version));
  for (; v < sqlite_schema_version; ++v) {
    exec("BEGIN IMMEDIATE;");
    exec(sqlite_migrations[v - 1]);
    set_meta("schema_version", std::to_string(v + 1));
    exec("COMMIT;");
  }
}

void sqlite_store::fail(const std::string& what) {
  std::string detail = db_ ? sqlite3_errmsg(db_) : "";
  throw user_error("job database '" + path_ + "' " + what +
                   (detail.empty() || detail == "not an error" ? "" : " (" + detail + ")") +
                   ": move it aside or pass another --db file");
}

void sqlite_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "unknown error";
    sqlite3_free(err);
    fail("is not usable: " + e);
  }
}

void sqlite_store::write(const std::vector<const job*>& jobs) {
  if (jobs.empty())
    return;
  if (sqlite3_step(begin_) != SQLITE_DONE)
    fail("rejected a transaction");
  sqlite3_reset(begin_);
  for (const job* j : jobs) {
    auto* s = upsert_;
    const auto status = to_string(j->status);
    const auto deps = deps_to_text(*j);
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->type.data(), static_cast<int>(j->type.size()), SQLITE_STATIC);
    if (j->key)
      sqlite3_bind_int64(s, 3, *j->key);
    else
      sqlite3_bind_null(s, 3);
    sqlite3_bind_text(s, 4, status.data(), static_cast<int>(status.size()), SQLITE_STATIC);
    sqlite3_bind_int(s, 5, j->process_attempts);
    sqlite3_bind_int(s, 6, j->verification_attempts);
    sqlite3_bind_text(s, 7, j->lease_owner.data(), static_cast<int>(j->lease_owner.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, j->lease_expiry_ms);
    sqlite3_bind_int64(s, 9, j->not_before_ms);
    sqlite3_bind_int64(s, 10, j->created_ms);
    sqlite3_bind_int64(s, 11, j->updated_ms);
    sqlite3_bind_int64(s, 12, j->finished_ms);
    sqlite3_bind_int(s, 13, j->completions);
    sqlite3_bind_text(s, 14, deps.data(), static_cast<int>(deps.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 15, j->payload.data(), static_cast<int>(j->payload.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 16, j->result.data(), static_cast<int>(j->result.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 17, j->errors.data(), static_cast<int>(j->errors.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 18, j->fence);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      fail("rejected a write (disk full or file replaced?)");
    }
  }
  if (sqlite3_step(commit_) != SQLITE_DONE) {
    sqlite3_reset(commit_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    fail("rejected a commit");
  }
  sqlite3_reset(commit_);
  rows_written_ += jobs.size();
  ++commits_;
}

void sqlite_store::set_meta(const std::string& key, const std::string& value) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta(k,v) VALUES(?,?)", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, value.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    fail("rejected a write");
}

void sqlite_store::add_token(const std::string& digest, const std::string& scope,
                             int64_t created_ms) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_, "INSERT INTO tokens(digest,scope,created_ms) VALUES(?,?,?)", -1, &s,
                     nullptr);
  sqlite3_bind_text(s, 1, digest.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, scope.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, created_ms);
  const int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    fail("rejected a new token");
}

std::vector<std::pair<std::string, std::string>> sqlite_store::tokens() {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT digest,scope FROM tokens ORDER BY digest", -1, &s, nullptr) !=
      SQLITE_OK)
    fail("cannot be read");
  std::vector<std::pair<std::string, std::string>> out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out.emplace_back(column_text(s, 0), column_text(s, 1));
  sqlite3_finalize(s);
  return out;
}

void sqlite_store::set_checkpoint_pages(int pages) { sqlite3_wal_autocheckpoint(db_, pages); }

std::optional<std::string> sqlite_store::meta(const std::string& key) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT v FROM meta WHERE k=?", -1, &s, nullptr) != SQLITE_OK)
    fail("cannot be read");
  sqlite3_bind_text(s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  std::optional<std::string> out;
  if (sqlite3_step(s) == SQLITE_ROW)
    out = column_text(s, 0);
  sqlite3_finalize(s);
  return out;
}

std::vector<job> sqlite_store::load_all() {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(
        db_,
        "SELECT id,type,key,status,process_attempts,verification_attempts,"
        "lease_owner,lease_expiry_ms,not_before_ms,created_ms,updated_ms,"
        "finished_ms,completions,deps,payload,result,errors,fence FROM jobs ORDER BY id",
        -1, &s, nullptr) != SQLITE_OK)
    fail("cannot be read");
  std::vector<job> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    job j;
    j.id = sqlite3_column_int64(s, 0);
    j.type = column_text(s, 1);
    if (sqlite3_column_type(s, 2) != SQLITE_NULL)
      j.key = sqlite3_column_int64(s, 2);
    auto st = status_from_string(column_text(s, 3));
    if (!st) {
      sqlite3_finalize(s);
      fail("holds job " + std::to_string(j.id) + " with an unknown status");
    }
    j.status = *st;
    j.process_attempts = sqlite3_column_int(s, 4);
    j.verification_attempts = sqlite3_column_int(s, 5);
    j.lease_owner = column_text(s, 6);
    j.lease_expiry_ms = sqlite3_column_int64(s, 7);
    j.not_before_ms = sqlite3_column_int64(s, 8);
    j.created_ms = sqlite3_column_int64(s, 9);
    j.updated_ms = sqlite3_column_int64(s, 10);
    j.finished_ms = sqlite3_column_int64(s, 11);
    j.completions = sqlite3_column_int(s, 12);
    deps_from_text(column_text(s, 13), j);
    j.payload = column_text(s, 14);
    j.result = column_text(s, 15);
    j.errors = column_text(s, 16);
    j.fence = sqlite3_column_int64(s, 17);
    out.push_back(std::move(j));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    fail("cannot be read");
  return out;
}

} // namespace troupe::jobs
