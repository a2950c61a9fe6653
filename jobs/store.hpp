#pragma once
// The durable half of the engine. The engine keeps an in-memory index for speed and mirrors
// every changed job into a store; a batch of changes is one transaction, so nothing lives
// only in memory for longer than one batch (and, in the HTTP face, no answer leaves the
// server before the batch that holds its change is committed).
//
// Two stores behind one interface, chosen by the location's form (store::open):
// - a file path (or ":memory:"): SQLite, one file in WAL mode (jobs/sqlite_store.*);
// - a `postgresql://` or `postgres://` URL: PostgreSQL through libpq (jobs/pg_store.*).
// The engine, the HTTP faces and the tests see only this interface, so both stores give the
// same engine behaviour.

#include "jobs/job.hpp"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace troupe::jobs {

class store {
public:
  enum class open_mode {
    create,     ///< create the file (and schema) when missing
    must_exist, ///< a missing file is a user error (status/retry on a database)
  };

  // -- constructors -----------------------------------------------------------

  /// Opens (or creates) the store at `location`: a SQLite file (":memory:" for a throwaway
  /// store) or a PostgreSQL URL (schema created on first use). Throws troupe::user_error
  /// naming the store and the fix when it is missing, unreachable, refuses the credentials,
  /// or is not a job database of ours.
  static std::unique_ptr<store> open(const std::string& location,
                                     open_mode mode = open_mode::create);
  /// Whether `location` names a PostgreSQL database (postgresql:// or postgres://).
  static bool is_postgres_url(const std::string& location);
  virtual ~store() = default;
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // -- writes -----------------------------------------------------------------

  /// Upserts every job in one transaction.
  virtual void write(const std::vector<const job*>& jobs) = 0;
  void write(const std::vector<job>& jobs);
  virtual void set_meta(const std::string& key, const std::string& value) = 0;
  /// Records an HTTP client token by its digest (the token itself is never stored).
  virtual void add_token(const std::string& digest, const std::string& scope,
                         int64_t created_ms) = 0;
  /// SQLite: a commit that leaves the WAL above `pages` pages also checkpoints it (copies it
  /// into the database file and syncs both: milliseconds on a slow disk). SQLite's default
  /// is 1000; the HTTP server raises it while serving, so fewer of its commits wait on the
  /// disk and each checkpoint writes a page changed many times once. Other stores ignore it.
  virtual void set_checkpoint_pages(int pages) { (void) pages; }
  /// Makes this process the only writer of the store's jobs until it closes the store, or
  /// throws user_error naming who holds it: for an engine that writes without rounds (a
  /// replay-test server, whose face keeps state of its own), where a second writer would
  /// overwrite its claims; engines that share a database use join_shared instead. A SQLite
  /// file has one process by construction (no-op); PostgreSQL takes a session advisory
  /// lock, released by the server when this process's connection ends (exit, kill -9).
  virtual void lock_for_writing() {}

  // -- several engines on one database (PostgreSQL; docs/jobs.md) ---------------
  //
  // Each engine keeps its in-memory index, and works in rounds: begin_round() takes the
  // campaign's transaction-level lock and returns every job another engine committed since
  // this one's last round, which the engine takes in (engine::begin_round) before it decides
  // anything; the next write() commits the round's changes and releases the lock. So every
  // decision (a claim, a completion, a new pipeline stage) is made on the database's latest
  // state, and no two engines decide at once.

  /// Joins the engines that share this database (after which shared() is true), or throws
  /// user_error naming the process that serves it alone (lock_for_writing). SQLite: no-op.
  virtual void join_shared() {}
  virtual bool shared() const noexcept { return false; }
  /// Opens a round (see above). The first round of a store returns every job.
  virtual std::vector<job> begin_round() { return {}; }
  virtual bool in_round() const noexcept { return false; }
  /// Whether this process leads the periodic work that changes jobs (lease expiry): one
  /// engine among those sharing a database, the holder of a session lock that passes to
  /// another when its holder's connection ends. A store of one process always leads.
  virtual bool leads() { return true; }

  // -- reads ------------------------------------------------------------------

  virtual std::vector<job> load_all() = 0;
  virtual std::optional<std::string> meta(const std::string& key) = 0;
  /// Every stored token as (digest, scope).
  virtual std::vector<std::pair<std::string, std::string>> tokens() = 0;
  /// The location as given to open (a URL with its password masked), for messages.
  const std::string& path() const noexcept { return path_; }
  /// Rows written since open (a figure for benchmarks and tests).
  uint64_t rows_written() const noexcept { return rows_written_; }
  uint64_t commits() const noexcept { return commits_; }

protected:
  store() = default;

  std::string path_;
  uint64_t rows_written_ = 0;
  uint64_t commits_ = 0;
};

} // namespace troupe::jobs
