#pragma once
// The PostgreSQL store, through libpq: the same rows as the SQLite store (free text as BYTEA,
// so any byte a client sends round-trips exactly), one transaction per batch sent as one
// libpq pipeline (BEGIN, an upsert per job, COMMIT: one round trip for the whole group
// commit), schema versioned in meta.schema_version and created on first use.
//
// One engine writes a database at a time (lock_for_writing: a session advisory lock, which
// the server releases when the writer's connection ends, so a killed orchestrator never
// strands the database). The upsert also refuses to lower a job's fencing token, so even a
// writer that lost its lock cannot roll a newer claim back.

#include "jobs/store.hpp"

typedef struct pg_conn PGconn;

namespace troupe::jobs {

class pg_store final : public store {
public:
  static std::unique_ptr<pg_store> open(const std::string& url, open_mode mode);
  ~pg_store() override;

  void write(const std::vector<const job*>& jobs) override;
  using store::write;
  void set_meta(const std::string& key, const std::string& value) override;
  void add_token(const std::string& digest, const std::string& scope, int64_t created_ms) override;
  void lock_for_writing() override;
  std::vector<job> load_all() override;
  std::optional<std::string> meta(const std::string& key) override;
  std::vector<std::pair<std::string, std::string>> tokens() override;

  /// The advisory lock key of the single writer (pg_locks: classid 0, objid this).
  static constexpr long long writer_lock_key = 0x54525550; // "TRUP"
  /// `url` with its password replaced by ***.
  static std::string redact(const std::string& url);

private:
  pg_store() = default;
  void connect(const std::string& url);
  void ensure_schema(open_mode mode);
  void check_columns();
  [[noreturn]] void fail(const std::string& what);
  /// Runs one statement without parameters; throws (fail) unless it succeeded.
  void exec(const char* sql);

  PGconn* conn_ = nullptr;
  bool writer_ = false;
};

} // namespace troupe::jobs
