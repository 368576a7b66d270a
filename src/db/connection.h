// Connection: one SQLite handle opened the way the node needs it, plus the
// code that runs one request statement on it (binding, stepping, timeouts,
// results).
//
// Ownership: a Connection owns its sqlite3* and closes it on destruction;
// WAL checkpoint-on-close is disabled for both roles, so closing never
// touches the main database file (DESIGN.md 5).
// Thread-safety: none. A Connection is used by one thread at a time; the
// Database hands out readers through its pool and guards the writer with a
// mutex.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <string_view>

#include "base/status.h"
#include "command/types.h"
#include "db/seeded_random.h"
#include "db/sql_guard.h"

namespace rq::db {

// Texts rqlite returns (db.go ErrQueryTimeout, ErrExecuteTimeout, Query).
inline constexpr std::string_view kQueryTimeout = "query timeout";
inline constexpr std::string_view kExecuteTimeout = "execute timeout";
inline constexpr std::string_view kWriteOnQueryPath = "attempt to change database via query operation";

// A replicated write's db_timeout becomes a budget of SQLite VM steps per
// statement, fixed by the leader in the log entry: every replica interrupts
// the same write at the same instruction, whatever its clock and load. The
// rate is what SQLite ran here for INSERT ... SELECT, UPDATE and DELETE over
// 1-2M rows (46-85 M steps/s on one core, docs/db_timeout.md); a slower
// machine takes longer than db_timeout to give up, a faster one less.
inline constexpr int64_t kVmStepsPerSecond = 50'000'000;
int64_t VmStepBudgetFor(int64_t db_timeout_ns);

// What an abandoned statement answers (Database::Abandon).
inline constexpr std::string_view kAbandoned = "node is shutting down";

// A quick read (RunOptions::quick_only) runs on a thread that serves many
// connections, so it runs only a statement whose last run took under
// RunOptions::quick_run_max, and stops (for the caller to run it
// elsewhere) past any of these: its deadline (RunOptions::quick_deadline),
// its VM steps, or the bytes of one value (SQLite's length limit) or of
// all its rows.
inline constexpr int64_t kQuickVmSteps = 20'000;
inline constexpr int kQuickBytes = 256 << 10;
// What a statement a quick read may not run fails with.
inline constexpr std::string_view kNotQuick = "not a quick read";

struct ConnectionOptions {
  bool foreign_keys = false;
  std::chrono::milliseconds busy_timeout{5000};
  // Once true, the statement running on the connection is interrupted and
  // every later one fails with kAbandoned (shared by a Database's connections).
  std::shared_ptr<const std::atomic<bool>> abandoned;
  // Shared libraries loaded into the connection when it opens
  // (-extensions-path; db/extensions.h finds them). SQL's load_extension()
  // stays off.
  std::vector<std::string> extensions;
};

// Prepared statements keyed by SQL text: kept for one request on the
// writer, so a batch that repeats a write (the usual 1000-row INSERT)
// parses it once, and for a reader's lifetime, so a read that clients
// repeat with new parameters (a point SELECT) is parsed once per
// connection. Each is reset after every use, so none holds a transaction
// or a lock between uses; SQLite re-prepares one whose schema changed.
// Finalizes all on destruction (or Clear), which must come before its
// connection's close.
class StatementCache {
 public:
  StatementCache() = default;
  ~StatementCache();
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // Longer texts are not kept: the cache's memory stays small.
  static constexpr size_t kMaxSqlBytes = 4096;

  struct Entry {
    std::string sql;
    sqlite3_stmt* stmt;  // reset, no bindings, between uses
    bool quick = false;  // its last run was quick (RunOptions::quick_run_max)
  };
  // The entry kept for exactly `sql`, or nullptr. Valid until the next Keep
  // or Clear.
  Entry* Find(std::string_view sql);
  // Keeps `stmt` (prepared from exactly `sql`), dropping the oldest when full.
  void Keep(std::string_view sql, sqlite3_stmt* stmt);
  void Clear();
  // Records a run of the statement kept for `sql` (a lookup; with the entry
  // at hand, set Entry::quick).
  void NoteRun(std::string_view sql, bool quick);

 private:
  static constexpr size_t kCapacity = 16;
  std::vector<Entry> entries_;
  size_t next_victim_ = 0;
};

class Connection {
 public:
  enum class Role { kWriter, kReader };

  // Writer: read-write, creates the file, WAL, synchronous=OFF,
  // wal_autocheckpoint=0, seeded random()/randomblob(). Reader:
  // SQLITE_OPEN_READONLY and query_only=1.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, Role role,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }
  GuardState& guard() { return guard_; }
  Role role() const { return role_; }
  // What the writer's random() and randomblob() draw from (db/seeded_random.h);
  // a reader's are SQLite's own and ignore it.
  Random& random() { return random_; }

  // Runs SQL that returns no rows the caller needs (BEGIN, PRAGMA ...).
  Status Exec(std::string_view sql);
  // Loads each shared library (REQUIRES: at open, before any statement).
  Status LoadExtensions(const std::vector<std::string>& paths);
  // Exec with the guard lifted: for the node's own guarded PRAGMAs.
  Status ExecInternal(std::string_view sql);
  // First column of the first row as text ("" when there is no row).
  Result<std::string> QueryText(std::string_view sql);

  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // See ConnectionOptions::abandoned; nullptr when never abandoned.
  const std::atomic<bool>* abandoned_flag() const { return abandoned_.get(); }
  // Rolls back an open transaction, if any; a no-op otherwise.
  void RollbackIfOpen();
  // A reader's repeated reads, prepared once (see StatementCache).
  StatementCache& read_statements() { return read_statements_; }

 private:
  Connection(sqlite3* db, Role role) : db_(db), role_(role) {}
  Status Configure(const ConnectionOptions& options);
  std::shared_ptr<const std::atomic<bool>> abandoned_;
  Status Error(std::string_view context) const;

  sqlite3* db_;
  Role role_;
  GuardState guard_;
  Random random_{0};
  StatementCache read_statements_;
};

// How RunStatement treats each SQL statement inside one request statement.
enum class RunMode {
  kExecute,  // step to completion, report last_insert_id / rows_affected
  kQuery,    // return rows (columns, types, values)
  kAuto,     // rows if the statement has result columns, else counts
};

struct RunOptions {
  RunMode mode = RunMode::kExecute;
  bool qualify_columns = false;  // "table.column" names when the origin is known
  bool refuse_writes = false;    // query path: refuse non-read-only statements
  int64_t timeout_ns = 0;        // 0: no deadline
  // Expression columns (no declared type) report "" (the contract, API.md
  // 2.4) unless set: then the first row's value types fill them in, as
  // rqlite 8.x db.go populateEmptyTypes did.
  bool fill_expression_types = false;
  // Interrupt after about this many SQLite VM steps (0: no budget). Unlike
  // the deadline, every replica stops at the same instruction.
  int64_t vm_step_budget = 0;
  // When set, a request statement holding exactly one SQL statement is
  // prepared once per text for the cache's lifetime: on the query path
  // (refuse_writes) a read, elsewhere a write that returns no rows.
  class StatementCache* cache = nullptr;
  // Only a statement `cache` holds as quick, under the kQuick* limits;
  // anything else fails (kNotQuick, or the limit's own error).
  bool quick_only = false;
  // A statement kept in `cache` that ran in under quick_run_max may run
  // quick_only next time, where it stops after quick_deadline.
  std::chrono::microseconds quick_run_max{200};
  std::chrono::microseconds quick_deadline{2000};
};

// Runs every SQL statement in `statement.sql` in order (SQLite's own
// multi-statement handling) and reports ONE result, the last statement's,
// as rqlite does. Failures become the result's error text.
command::StatementResult RunStatement(Connection& conn, const command::Statement& statement,
                                      const RunOptions& options);

// Whether the last failed SQLite call on `db` failed because of this node's
// environment (the disk is full, an I/O error, a lock another process holds,
// the file moved) rather than because of the SQL: the same statement would
// succeed on a replica whose disk has room.
bool IsEnvironmentalFailure(sqlite3* db);

// Seconds elapsed since `start`, for time_s fields.
double SecondsSince(std::chrono::steady_clock::time_point start);

}  // namespace rq::db
