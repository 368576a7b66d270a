// Database: the node's SQLite file, `<data-dir>/db.sqlite`, with ONE writer
// connection (the apply thread's) and a bounded pool of read-only
// connections. Knows nothing of Raft (DESIGN.md 2).
//
// The writer runs WAL mode with synchronous=OFF and wal_autocheckpoint=0:
// durability comes from the Raft log, and only Checkpoint() (snapshot time)
// moves WAL frames into the main file. Readers open SQLITE_OPEN_READONLY with
// query_only=1. Every connection carries the SQL guard (db/sql_guard.h).
//
// Ownership: Database owns all its connections; Close() (or destruction)
// closes them without checkpointing, so the WAL survives a restart, where
// the store calls DiscardWal before Open and replays the Raft log.
//
// Thread-safety: every method may be called from any thread. Writer-side
// methods (Execute, ExecuteOrQuery, Checkpoint, LoadImage, LoadDump)
// serialise on one mutex; the store calls them from its apply thread.
// Reader-side methods (Query, IsReadOnly, CheckAllowed, Backup, DumpSql)
// lease a pooled connection, waiting in FIFO order when all
// max_read_connections are in use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "command/types.h"
#include "command/row_change.h"
#include "db/allowed_texts.h"
#include "db/change_capture.h"
#include "db/connection.h"

namespace rq::db {

struct Options {
  bool foreign_keys = false;
  // Read connections open at once; 0 = unlimited (rqlite's default is 256).
  uint32_t max_read_connections = 256;
  // How long a connection waits on a lock held by another before SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
  // Quick reads (QueryQuickly): a statement whose last run took under
  // quick_read_run_max may run on the caller's thread, and gives up there
  // after quick_read_deadline.
  std::chrono::microseconds quick_read_run_max{200};
  std::chrono::microseconds quick_read_deadline{2000};
  // Checkpoint() retries when readers pin old WAL frames, then gives up.
  uint32_t checkpoint_attempts_max = 10;
  std::chrono::milliseconds checkpoint_retry_delay{100};
  // Types of expression columns (SELECT 1 AS a, count(*), hex(b)): the first
  // row's value types, as rqlite 8+ reports them (db.go populateEmptyTypes)
  // and clients such as pyrqlite convert by; false leaves "" (API.md 2.4).
  bool fill_expression_types = true;
  // SQLite extensions every connection loads (-extensions-path).
  std::vector<std::string> extensions;
  // Change data capture on the writer (TakeChanges).
  ChangeCaptureOptions capture;

  Status Validate() const;
};

enum class BackupFormat {
  kBinaryWal,     // header says WAL (bytes 18/19 = 2): rqlite's default backup
  kBinaryDelete,  // rollback-journal (DELETE) mode: ?fmt=delete
};

// A connection pool's figures, as Go's database/sql DBStats reports them.
struct PoolStats {
  uint32_t max_open_connections = 0;  // 0: unlimited
  uint32_t open_connections = 0;
  uint32_t in_use = 0;
  uint32_t idle = 0;
  uint64_t wait_count = 0;        // acquisitions that had to wait
  int64_t wait_duration_ns = 0;   // total time they waited
};

// PRAGMA values of one connection, by pragma name.
using Pragmas = std::map<std::string, std::string>;

// Figures for /status ("store.sqlite3" in rqlite). Gathering them never
// waits for the writer, which a long write holds (GetStats).
struct Stats {
  std::string sqlite_version;
  std::string path;
  std::vector<std::string> compile_options;  // PRAGMA compile_options
  // PRAGMAs max_page_count, page_count, page_size, hard_heap_limit,
  // soft_heap_limit, cache_size and freelist_count, as a reader sees them.
  std::map<std::string, int64_t> mem_stats;
  uint64_t db_size_bytes = 0;    // page_count * page_size
  uint64_t file_size_bytes = 0;  // db.sqlite on disk
  uint64_t wal_size_bytes = 0;   // db.sqlite-wal on disk
  // The later modification time of db.sqlite and its WAL.
  std::optional<std::chrono::system_clock::time_point> last_modified;
  // The connections' settings, in the DSN form rqlite reports (db/state.go
  // MakeDSN): only the parameters this node applies.
  std::string rw_dsn;
  std::string ro_dsn;
  Pragmas rw_pragmas;  // read from the writer when it was opened
  Pragmas ro_pragmas;
  bool rw_in_transaction = false;
  PoolStats rw_pool;
  PoolStats ro_pool;
  bool foreign_keys = false;
};

// One write of a group that shares a transaction (Database::ExecuteGroup).
struct GroupedWrite {
  const command::Request* request = nullptr;
  // ExecuteOrQuery's results (rows for statements that return them), else
  // Execute's.
  bool as_request = false;
  uint64_t random_seed = 0;  // SeedRandom(random_seed) before it runs
};

// Receives a dump piece by piece; a non-OK status stops the dump.
using DumpWriter = std::function<Status(std::string_view)>;

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const std::string& path, const Options& options);
  // Deletes `path`-wal and `path`-shm (missing files are fine).
  // REQUIRES: no connection to `path` is open.
  static Status DiscardWal(const std::string& path);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Waits for leased readers to come back, then closes every connection.
  // Idempotent. No other method may be called afterwards.
  Status Close();

  // For a shutdown that must not wait: interrupts the statements running on
  // every connection and fails every later one with kAbandoned. A write
  // stopped this way may have changed the WAL in part; the caller must not
  // count it as applied, nor checkpoint, and the next start discards the WAL
  // and replays the log (store/store.cc Recover). Thread-safe; irreversible.
  void Abandon();
  bool abandoned() const { return abandoned_->load(); }

  // --- writer side -------------------------------------------------------
  // Seeds random() and randomblob() for the writes that follow (Execute,
  // ExecuteOrQuery, LoadDump), until the next call: SQL that SQLite
  // evaluates inside them (DEFAULT (random()), triggers, views) draws from
  // this seed's sequence (db/seeded_random.h), so the same writes with the
  // same seeds store the same values. A request run again from its start (a
  // batch falling back to autocommit) draws what it drew the first time.
  void SeedRandom(uint64_t seed);

  // /db/execute: statements in order, per-statement errors; with
  // `transaction` stops at the first error and rolls everything back. A
  // transaction the SQL left open is rolled back at the end.
  command::Response Execute(const command::Request& request);
  // /db/request through the log: rows for statements with result columns,
  // write counts for the others; same transaction rules as Execute.
  command::Response ExecuteOrQuery(const command::Request& request);
  // Consecutive writes, each run as Execute / ExecuteOrQuery would run it
  // after SeedRandom(random_seed), inside ONE SQLite transaction: one commit
  // (one WAL append, one round of -shm locks) instead of one per write.
  // REQUIRES: every request CanShareTransaction (db/batch_check.h). Each
  // result is the one the write would have had alone. Where that cannot be
  // promised (a statement failed or ended the transaction, a deferred
  // foreign key is pending, COMMIT failed) nothing of the group remains
  // (the connection's last rowid is restored too) and the result is
  // nullopt, with *breaker (if given) the index of the write that ended it
  // (0 when COMMIT failed): the writes before it ran together without
  // trouble, and will again. After an environmental failure nothing remains
  // either, and the last response (of the write that met it) carries
  // environmental_error; once abandoned, nothing remains.
  std::optional<std::vector<command::Response>> ExecuteGroup(std::span<const GroupedWrite> writes,
                                                             size_t* breaker = nullptr);
  // synchronous=FULL, wal_checkpoint(TRUNCATE) until it completes (Busy if
  // readers keep it from completing), synchronous=OFF again.
  Status Checkpoint();
  // VACUUM or PRAGMA optimize on the writer, between writes (automatic
  // maintenance; the content stays the same).
  Status Maintain(std::string_view sql);
  // Replaces the whole content with the SQLite image at `path`, in one write
  // transaction (readers see old or new, never a mix).
  // REQUIRES: ValidateImage(path) succeeded.
  Status LoadImage(const std::string& path);
  // Runs a SQL dump all or nothing in one transaction, skipping the dump's own
  // BEGIN TRANSACTION / COMMIT. One result, shaped like an execute.
  command::Response LoadDump(const std::string& sql);
  // The rows the writes since the last call changed and committed, in
  // order (empty unless Options::capture is enabled). A LoadImage replaces
  // the file wholesale and reports no rows.
  std::vector<command::RowChange> TakeChanges();

  // --- reader side -------------------------------------------------------
  // /db/query at level none/weak: on a read-only connection; statements that
  // would write fail per statement.
  command::Response Query(const command::Request& request);
  // The same read on a thread that must not wait (an HTTP I/O thread), or
  // nullopt, having changed nothing, for the caller to run Query elsewhere:
  // when no reader is idle, or a statement is not one that last ran in
  // under quick_read_run_max on the connection, or the run meets a lock,
  // a quick limit (db/connection.h) or any error.
  std::optional<command::Response> QueryQuickly(const command::Request& request);
  // True when every SQL statement in the request is read-only
  // (sqlite3_stmt_readonly); one that fails to prepare counts as a write.
  Result<bool> IsReadOnly(const command::Request& request);
  // InvalidArgument "disallowed pragma" (or the ATTACH/DETACH/VACUUM INTO
  // texts in db/sql_guard.h) for the whole request, else OK.
  Status CheckAllowed(const command::Request& request);
  // Moves whenever the schema may have: DDL prepared on the writer, a load.
  uint64_t schema_generation() const { return schema_generation_.load(std::memory_order_acquire); }
  // A complete, consistent copy of the database at `dest_path` (replaced if
  // it exists), optionally VACUUMed.
  Status Backup(const std::string& dest_path, BackupFormat format, bool vacuum);
  // A text dump like sqlite3's .dump, from one read snapshot. `tables`
  // limits it to those tables (and their indexes and triggers); empty = all.
  Status DumpSql(const DumpWriter& write, const std::vector<std::string>& tables);

  // Checks an incoming SQLite file (header, page size, file size, then
  // integrity_check on a temporary copy) without touching it. A truncated or
  // corrupt file is InvalidArgument with a clear message.
  static Status ValidateImage(const std::string& path);

  Result<uint64_t> WalSizeBytes() const;
  // Reads on a connection of its own (opened on first use, never leased
  // from the pool, so a pool full of slow queries cannot hold it up) and
  // from figures the writer publishes; never takes the writer's mutex.
  Result<Stats> GetStats();
  const std::string& path() const { return path_; }
  std::string wal_path() const { return path_ + "-wal"; }
  std::string shm_path() const { return path_ + "-shm"; }

 private:
  class ReaderLease;
  class WriterLock;

  Database(std::string path, const Options& options, std::shared_ptr<std::atomic<bool>> abandoned,
           std::unique_ptr<Connection> writer, Pragmas writer_pragmas);
  // REQUIRES: stats_mu_ held.
  Result<Connection*> StatsReader();
  // The writer's transaction state, published for GetStats after a BEGIN.
  // REQUIRES: writer_mu_ held.
  void NoteWriterTransaction() { writer_in_transaction_.store(writer_->InTransaction(), std::memory_order_relaxed); }
  Result<ReaderLease> AcquireReader();
  // An idle open reader when no caller is waiting for one; never blocks.
  std::optional<ReaderLease> TryAcquireIdleReader();
  // Query's statements on `conn`; nullopt only for quick_only (QueryQuickly).
  std::optional<command::Response> RunRead(Connection& conn, const command::Request& request, bool quick_only);
  static constexpr size_t kQuickStatementsMax = 8;
  void ReleaseReader(std::unique_ptr<Connection> conn);
  command::Response RunWriteRequest(const command::Request& request, RunMode mode);
  // One statement of a write on the writer, its rows captured for CDC.
  // REQUIRES: writer_mu_ held.
  command::StatementResult RunWriteStatement(const command::Request& request, const command::Statement& statement,
                                             RunMode mode, StatementCache& cache);
  // The writes in one SQLite transaction (ExecuteGroup's contract).
  // `group`: several writes (each reseeded with its random_seed, and a
  // failed statement ends the group), else one request's batch.
  // REQUIRES: writer_mu_ held.
  std::optional<std::vector<command::Response>> RunInOneTransaction(std::span<const GroupedWrite> writes,
                                                                    bool group, size_t* breaker);
  command::StatementResult RunDumpInTransaction(Connection& writer, const std::string& sql);
  Status CheckpointOnWriter();
  // The authorizer's verdict on each text, prepared on a reader.
  Status CheckOnReader(std::span<const std::string_view> distinct);

  const std::string path_;
  const Options options_;
  const std::shared_ptr<std::atomic<bool>> abandoned_;

  std::mutex writer_mu_;  // taken through WriterLock only
  std::unique_ptr<Connection> writer_;  // GUARDED_BY(writer_mu_)
  std::unique_ptr<ChangeCapture> capture_;  // GUARDED_BY(writer_mu_); null when off
  // What GetStats may know of the writer without its mutex; WriterLock
  // keeps them current.
  const Pragmas writer_pragmas_;
  std::atomic<bool> writer_open_{true};
  std::atomic<bool> writer_in_use_{false};
  std::atomic<bool> writer_in_transaction_{false};
  std::atomic<uint64_t> writer_wait_count_{0};
  std::atomic<int64_t> writer_wait_ns_{0};

  // Moves whenever the schema may have (the writer's authorizer counts DDL;
  // LoadImage and LoadDump bump it): CheckAllowed's remembered texts
  // belong to one value of it.
  std::atomic<uint64_t> schema_generation_{0};
  AllowedTexts allowed_texts_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // GUARDED_BY(pool_mu_)
  uint32_t open_readers_ = 0;   // idle + leased; GUARDED_BY(pool_mu_)
  uint64_t next_ticket_ = 0;    // FIFO order of waiters; GUARDED_BY(pool_mu_)
  uint64_t serving_ticket_ = 0;  // GUARDED_BY(pool_mu_)
  bool closed_ = false;          // GUARDED_BY(pool_mu_)
  uint64_t reader_wait_count_ = 0;  // GUARDED_BY(pool_mu_)
  int64_t reader_wait_ns_ = 0;      // GUARDED_BY(pool_mu_)

  // GetStats' own read-only connection and what it computes once.
  std::mutex stats_mu_;
  std::unique_ptr<Connection> stats_reader_;       // GUARDED_BY(stats_mu_)
  bool stats_closed_ = false;                      // GUARDED_BY(stats_mu_)
  std::vector<std::string> compile_options_;       // GUARDED_BY(stats_mu_)
  Pragmas reader_pragmas_;                         // GUARDED_BY(stats_mu_)
};

// A leased read connection; returns itself to the pool when destroyed.
class Database::ReaderLease {
 public:
  ReaderLease(Database* db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
  ReaderLease(ReaderLease&& other) noexcept = default;
  ReaderLease& operator=(ReaderLease&&) = delete;
  ~ReaderLease() {
    if (conn_ != nullptr) db_->ReleaseReader(std::move(conn_));
  }
  Connection& operator*() const { return *conn_; }
  Connection* operator->() const { return conn_.get(); }

 private:
  Database* db_;
  std::unique_ptr<Connection> conn_;
};

// Holds the writer's mutex, and publishes for GetStats what it must not
// lock the mutex to learn: whether the writer is in use, how long callers
// waited for it, and whether it is inside a transaction once released.
class Database::WriterLock {
 public:
  explicit WriterLock(Database* db) : db_(db), lock_(db->writer_mu_, std::try_to_lock) {
    if (!lock_.owns_lock()) {
      const auto start = std::chrono::steady_clock::now();
      lock_.lock();
      const auto waited = std::chrono::steady_clock::now() - start;
      db_->writer_wait_count_.fetch_add(1, std::memory_order_relaxed);
      db_->writer_wait_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count(),
                                     std::memory_order_relaxed);
    }
    db_->writer_in_use_.store(true, std::memory_order_relaxed);
  }
  ~WriterLock() {
    if (db_->writer_ != nullptr) {
      db_->NoteWriterTransaction();
      // Again now that the DDL is committed (or rolled back): a check that
      // read the generation its prepare moved may have seen the old schema.
      if (std::exchange(db_->writer_->guard().schema_touched, false)) {
        db_->schema_generation_.fetch_add(1, std::memory_order_release);
      }
    } else {
      db_->writer_in_transaction_.store(false, std::memory_order_relaxed);
    }
    db_->writer_in_use_.store(false, std::memory_order_relaxed);
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  Database* db_;
  std::unique_lock<std::mutex> lock_;
};

}  // namespace rq::db
