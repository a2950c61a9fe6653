#include "services/discovery_store.hpp"

#include <sqlite3.h>

#include "actors/errors.hpp"

namespace troupe::services {

namespace {

struct stmt {
  sqlite3_stmt* s = nullptr;
  stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("discovery store: ") + sqlite3_errmsg(db));
  }
  ~stmt() { sqlite3_finalize(s); }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void integer(int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  std::string col_text(int i) {
    auto p = sqlite3_column_text(s, i);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
};

nlohmann::json json_or_object(const std::string& text) {
  auto v = nlohmann::json::parse(text, nullptr, false);
  return v.is_discarded() ? nlohmann::json::object() : v;
}

} // namespace

nlohmann::json discovered_node::to_json() const {
  return {{"id", id},
          {"program", program},
          {"endpoints", endpoints},
          {"labels", labels},
          {"key", key},
          {"first_seen_ms", first_seen_ms},
          {"last_seen_ms", last_seen_ms},
          {"submissions", submissions}};
}

discovery_store::discovery_store(const std::filesystem::path& db) {
  if (sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw user_error("cannot open the registry database " + db.string() + ": " + why +
                     "; choose a writable --db");
  }
  exec("PRAGMA journal_mode=WAL;");
  // NORMAL in WAL mode: an answered submission survives the registry being killed.
  exec("PRAGMA synchronous=NORMAL;");
  exec("PRAGMA busy_timeout=5000;");
  exec("CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, key TEXT NOT NULL, program TEXT "
       "NOT NULL, endpoints TEXT NOT NULL, labels TEXT NOT NULL, first_seen_ms INTEGER NOT "
       "NULL, last_seen_ms INTEGER NOT NULL, submissions INTEGER NOT NULL);");
  exec("CREATE INDEX IF NOT EXISTS nodes_seen ON nodes(last_seen_ms);");
}

discovery_store::~discovery_store() { sqlite3_close(db_); }

void discovery_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw user_error("registry database: " + why + "; check --db");
  }
}

std::string discovery_store::submit(const discovered_node& n, int64_t now_ms) {
  std::lock_guard<std::mutex> lk(mutex_);
  {
    stmt q{db_, "SELECT key FROM nodes WHERE id = ?1"};
    q.text(1, n.id);
    if (sqlite3_step(q.s) == SQLITE_ROW) {
      if (q.col_text(0) != n.key)
        return "node id \"" + n.id +
               "\" was announced by another key; announce it with that "
               "key or choose another id";
    } else {
      stmt c{db_, "SELECT COUNT(*) FROM nodes"};
      sqlite3_step(c.s);
      if (static_cast<size_t>(sqlite3_column_int64(c.s, 0)) >= nodes_max)
        return "the registry already holds " + std::to_string(nodes_max) + " nodes";
    }
  }
  stmt u{db_, "INSERT INTO nodes VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 1) ON CONFLICT(id) DO "
              "UPDATE SET program = ?3, endpoints = ?4, labels = ?5, last_seen_ms = ?6, "
              "submissions = submissions + 1"};
  u.text(1, n.id);
  u.text(2, n.key);
  u.text(3, n.program);
  u.text(4, n.endpoints.dump());
  u.text(5, n.labels.dump());
  u.integer(6, now_ms);
  if (sqlite3_step(u.s) != SQLITE_DONE)
    return std::string("the registry database refused the write: ") + sqlite3_errmsg(db_);
  return {};
}

std::vector<discovered_node> discovery_store::seen_since(int64_t since_ms) {
  std::lock_guard<std::mutex> lk(mutex_);
  stmt q{db_, "SELECT id, key, program, endpoints, labels, first_seen_ms, last_seen_ms, "
              "submissions FROM nodes WHERE last_seen_ms >= ?1 ORDER BY id"};
  q.integer(1, since_ms);
  std::vector<discovered_node> out;
  while (sqlite3_step(q.s) == SQLITE_ROW) {
    discovered_node n;
    n.id = q.col_text(0);
    n.key = q.col_text(1);
    n.program = q.col_text(2);
    n.endpoints = json_or_object(q.col_text(3));
    n.labels = json_or_object(q.col_text(4));
    n.first_seen_ms = sqlite3_column_int64(q.s, 5);
    n.last_seen_ms = sqlite3_column_int64(q.s, 6);
    n.submissions = static_cast<uint64_t>(sqlite3_column_int64(q.s, 7));
    out.push_back(std::move(n));
  }
  return out;
}

size_t discovery_store::size() {
  std::lock_guard<std::mutex> lk(mutex_);
  stmt c{db_, "SELECT COUNT(*) FROM nodes"};
  sqlite3_step(c.s);
  return static_cast<size_t>(sqlite3_column_int64(c.s, 0));
}

} // namespace troupe::services
