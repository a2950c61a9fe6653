#pragma once
// The durable half of the engine: one SQLite file in WAL mode. The engine keeps an in-memory
// index for speed and mirrors every changed job here; a batch of changes is one transaction,
// so nothing lives only in memory for longer than one batch (and, in the HTTP face, no
// answer leaves the server before the batch that holds its change is committed).

#include "jobs/job.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace troupe::jobs {

class store {
public:
  enum class open_mode {
    create,     ///< create the file (and schema) when missing
    must_exist, ///< a missing file is a user error (status/retry on a database)
  };

  // -- constructors -----------------------------------------------------------

  /// Opens (or creates) the database at `path`; ":memory:" for a throwaway store.
  /// Throws troupe::user_error naming the file and the fix when it is missing, unreadable
  /// or not a SQLite database of ours.
  static std::unique_ptr<store> open(const std::string& path, open_mode mode = open_mode::create);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // -- writes -----------------------------------------------------------------

  /// Upserts every job in one transaction.
  void write(const std::vector<const job*>& jobs);
  void write(const std::vector<job>& jobs);
  void set_meta(const std::string& key, const std::string& value);
  /// Records an HTTP client token by its digest (the token itself is never stored).
  void add_token(const std::string& digest, const std::string& scope, int64_t created_ms);
  /// A commit that leaves the WAL above `pages` pages also checkpoints it (copies it into
  /// the database file and syncs both: milliseconds on a slow disk). SQLite's default is
  /// 1000; the HTTP server raises it while serving, so fewer of its commits wait on the disk
  /// and each checkpoint writes a page changed many times once.
  void set_checkpoint_pages(int pages);

  // -- reads ------------------------------------------------------------------

  std::vector<job> load_all();
  std::optional<std::string> meta(const std::string& key);
  /// Every stored token as (digest, scope).
  std::vector<std::pair<std::string, std::string>> tokens();
  const std::string& path() const noexcept { return path_; }
  /// Rows written since open (a figure for benchmarks and tests).
  uint64_t rows_written() const noexcept { return rows_written_; }
  uint64_t commits() const noexcept { return commits_; }

private:
  store() = default;
  void exec(const char* sql);
  /// Brings an older file's schema to the current version (versioned, see store.cpp).
  void migrate();
  [[noreturn]] void fail(const std::string& what);

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  uint64_t rows_written_ = 0;
  uint64_t commits_ = 0;
};

} // namespace troupe::jobs
