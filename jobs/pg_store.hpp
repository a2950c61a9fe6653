#pragma once
// The PostgreSQL store, through libpq: the same rows as the SQLite store (free text as BYTEA,
// so any byte a client sends round-trips exactly), one transaction per batch sent as one
// libpq pipeline (BEGIN, an upsert per job, COMMIT: one round trip for the whole group
// commit), schema versioned in meta.schema_version and created on first use.
//
// Any number of engines share one database (join_shared, begin_round: store.hpp): every
// write draws a row version from the sequence jobs_rev, so a round reads only what changed
// since the engine's last one, under a transaction-level advisory lock that serialises the
// rounds of every engine on the database. One of them leads the periodic work (leads(): a
// session advisory lock, released by the server when its holder's connection ends, so a
// killed orchestrator's successor takes over within one tick). A replay-test server holds
// the database alone instead (lock_for_writing), as its face keeps state of its own. The
// upsert also refuses to lower a job's fencing token, so even a writer that lost its lock
// cannot roll a newer claim back.

#include "jobs/store.hpp"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

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
  void join_shared() override;
  bool shared() const noexcept override { return shared_; }
  std::vector<job> begin_round() override;
  bool in_round() const noexcept override { return in_round_; }
  bool leads() override;
  std::vector<job> load_all() override;
  std::optional<std::string> meta(const std::string& key) override;
  std::vector<std::pair<std::string, std::string>> tokens() override;

  /// The advisory lock key of the writers (pg_locks: classid 0, objid this): exclusive for a
  /// server alone on the database, shared by the engines that share it.
  static constexpr long long writer_lock_key = 0x54525550; // "TRUP"
  /// The session advisory lock of the leader among the engines sharing a database.
  static constexpr long long leader_lock_key = 0x54525552;
  /// The transaction-level advisory lock of a round.
  static constexpr long long round_lock_key = 0x54525553;
  /// `url` with its password replaced by ***.
  static std::string redact(const std::string& url);

private:
  pg_store() = default;
  void connect(const std::string& url);
  void ensure_schema(open_mode mode);
  void check_columns(int version);
  [[noreturn]] void fail(const std::string& what);
  /// Runs one statement without parameters; throws (fail) unless it succeeded.
  void exec(const char* sql);
  /// Takes the writers' lock (`function`: pg_advisory_lock or pg_advisory_lock_shared),
  /// waiting a little; throws user_error naming its holder when it stays taken.
  void take_writer_lock(const char* function, const std::string& refusal);
  /// Sends BEGIN and the round lock into the open pipeline.
  bool send_begin();
  /// Reads every answer up to the pipeline's sync: the first error, or "" (and, when
  /// `rows` is given, the rows of the last statement that returned some).
  std::string drain_pipeline(std::vector<job>* rows, int64_t* last_value);
  std::vector<job> rows_of(PGresult* r);

  PGconn* conn_ = nullptr;
  bool writer_ = false;
  bool shared_ = false;
  bool in_round_ = false;
  bool leader_ = false;
  int64_t seen_rev_ = -1; ///< every row version up to this one is in the engine (rounds)
};

} // namespace troupe::jobs
