#pragma once
// The SQLite store: one file in WAL mode, prepared statements, one row per job
// (INSERT OR REPLACE), one transaction per batch. Schema versioned in meta.schema_version.

#include "jobs/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace troupe::jobs {

class sqlite_store final : public store {
public:
  static std::unique_ptr<sqlite_store> open(const std::string& path, open_mode mode);
  ~sqlite_store() override;

  void write(const std::vector<const job*>& jobs) override;
  using store::write;
  void set_meta(const std::string& key, const std::string& value) override;
  void add_token(const std::string& digest, const std::string& scope, int64_t created_ms) override;
  void set_checkpoint_pages(int pages) override;
  std::vector<job> load_all() override;
  std::optional<std::string> meta(const std::string& key) override;
  std::vector<std::pair<std::string, std::string>> tokens() override;

private:
  sqlite_store() = default;
  void exec(const char* sql);
  /// Brings an older file's schema to the current version (versioned, see sqlite_store.cpp).
  void migrate();
  [[noreturn]] void fail(const std::string& what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

} // namespace troupe::jobs
