#include "db/database.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "base/logging.h"
#include "db/db_metrics.h"
#include "db/sql_guard.h"

namespace rq::db {
namespace {

using Clock = std::chrono::steady_clock;

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Status RemoveIfExists(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  return Status::OK();
}

// Prepares each SQL statement of `sql` in turn and hands it to `visit`
// (which returns false to stop). A prepare failure ends the walk and is
// returned as an IOError carrying SQLite's message.
template <typename Visit>
Status ForEachPrepared(sqlite3* db, const std::string& sql, Visit visit) {
  const char* next = sql.data();
  const char* const end = next + sql.size();
  while (next < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(db, next, static_cast<int>(end - next), &raw, &tail);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Status::IOError(sqlite3_errmsg(db));
    next = tail;
    if (stmt != nullptr && !visit(stmt.get())) break;
  }
  return Status::OK();
}

// The PRAGMAs /status shows for each connection (rqlite's db.pragmas), as
// text. REQUIRES: `conn` is used by no other thread meanwhile.
Pragmas ReadPragmas(Connection& conn) {
  Pragmas pragmas;
  for (const char* name : {"synchronous", "journal_mode", "foreign_keys", "wal_autocheckpoint", "busy_timeout"}) {
    Result<std::string> value = conn.QueryText(std::string("PRAGMA ") + name);
    pragmas[name] = value.ok() ? *value : "";
  }
  return pragmas;
}

std::optional<std::chrono::system_clock::time_point> ModifiedAt(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec)));
}

}  // namespace

DbMetrics& DbCounters() {
  static DbMetrics counters;
  return counters;
}

size_t FailedStatements(const command::Response& response) {
  size_t failed = response.error.empty() ? 0 : 1;
  for (const command::StatementResult& result : response.results) failed += result.error.empty() ? 0 : 1;
  return failed;
}

Status Options::Validate() const {
  if (busy_timeout.count() < 0) return Status::InvalidArgument("busy_timeout must not be negative");
  if (checkpoint_attempts_max == 0) return Status::InvalidArgument("checkpoint_attempts_max must be at least 1");
  return Status::OK();
}

Database::Database(std::string path, const Options& options, std::shared_ptr<std::atomic<bool>> abandoned,
                   std::unique_ptr<Connection> writer, Pragmas writer_pragmas)
    : path_(std::move(path)),
      options_(options),
      abandoned_(std::move(abandoned)),
      writer_(std::move(writer)),
      writer_pragmas_(std::move(writer_pragmas)) {
  if (options_.capture.enabled) capture_ = std::make_unique<ChangeCapture>(writer_->handle(), options_.capture);
  writer_->guard().schema_changes = &schema_generation_;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const Options& options) {
  RQ_RETURN_IF_ERROR(options.Validate());
  const auto start = Clock::now();
  auto abandoned = std::make_shared<std::atomic<bool>>(false);
  ConnectionOptions conn_options{options.foreign_keys, options.busy_timeout, abandoned, options.extensions};
  Result<std::unique_ptr<Connection>> writer = Connection::Open(path, Connection::Role::kWriter, conn_options);
  if (!writer.ok()) return writer.status();
  // Read once here: users cannot change them (the SQL guard refuses those
  // PRAGMAs), and /status must never wait for the writer to ask it.
  Pragmas writer_pragmas = ReadPragmas(**writer);
  std::unique_ptr<Database> db(
      new Database(path, options, std::move(abandoned), std::move(writer).value(), std::move(writer_pragmas)));
  DbCounters().open_duration_ms.Set(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return db;
}

void Database::Abandon() { abandoned_->store(true); }

Status Database::DiscardWal(const std::string& path) {
  RQ_RETURN_IF_ERROR(RemoveIfExists(path + "-wal"));
  return RemoveIfExists(path + "-shm");
}

Database::~Database() {
  const Status s = Close();
  if (!s.ok()) RQ_LOG_ERROR("closing {}: {}", path_, s.ToString());
}

Status Database::Close() {
  {
    std::unique_lock lock(pool_mu_);
    closed_ = true;
    pool_cv_.notify_all();
    pool_cv_.wait(lock, [&] { return idle_readers_.size() == open_readers_; });
    idle_readers_.clear();
    open_readers_ = 0;
  }
  {
    std::lock_guard lock(stats_mu_);
    stats_closed_ = true;
    stats_reader_.reset();
  }
  WriterLock lock(this);
  capture_.reset();
  writer_.reset();
  writer_open_.store(false, std::memory_order_relaxed);
  return Status::OK();
}

Result<Database::ReaderLease> Database::AcquireReader() {
  std::unique_lock lock(pool_mu_);
  const uint64_t ticket = next_ticket_++;
  const uint32_t max = options_.max_read_connections;
  const auto servable = [&] {
    return closed_ ||
           (ticket == serving_ticket_ && (!idle_readers_.empty() || max == 0 || open_readers_ < max));
  };
  if (!servable()) {
    const auto start = Clock::now();
    pool_cv_.wait(lock, servable);
    ++reader_wait_count_;
    reader_wait_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  }
  ++serving_ticket_;
  pool_cv_.notify_all();  // the next ticket may now be servable
  if (closed_) return Status::Aborted("database is closed");
  if (!idle_readers_.empty()) {
    std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
    return ReaderLease(this, std::move(conn));
  }
  ++open_readers_;
  lock.unlock();
  ConnectionOptions conn_options{options_.foreign_keys, options_.busy_timeout, abandoned_, options_.extensions};
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_, Connection::Role::kReader, conn_options);
  if (!conn.ok()) {
    lock.lock();
    --open_readers_;
    pool_cv_.notify_all();
    return conn.status();
  }
  return ReaderLease(this, std::move(conn).value());
}

std::optional<Database::ReaderLease> Database::TryAcquireIdleReader() {
  std::lock_guard lock(pool_mu_);
  // Never ahead of a caller already waiting its turn.
  if (closed_ || next_ticket_ != serving_ticket_ || idle_readers_.empty()) return std::nullopt;
  ++next_ticket_;
  ++serving_ticket_;
  std::unique_ptr<Connection> conn = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return ReaderLease(this, std::move(conn));
}

void Database::ReleaseReader(std::unique_ptr<Connection> conn) {
  RQ_ASSERT(conn != nullptr);
  conn->RollbackIfOpen();  // never hand out a connection pinning a snapshot
  conn->guard().refused = Refusal::kNone;
  std::lock_guard lock(pool_mu_);
  idle_readers_.push_back(std::move(conn));
  RQ_ASSERT(idle_readers_.size() <= open_readers_);
  pool_cv_.notify_all();
}

void Database::SeedRandom(uint64_t seed) {
  WriterLock lock(this);
  writer_->random() = Random(seed);
}

std::vector<command::RowChange> Database::TakeChanges() {
  WriterLock lock(this);
  if (capture_ == nullptr) return {};
  return capture_->TakeCommitted();
}

command::Response Database::Query(const command::Request& request) {
  const auto start = Clock::now();
  Result<ReaderLease> lease = AcquireReader();
  if (!lease.ok()) {
    command::Response response;
    response.error = lease.status().message();
    return response;
  }
  command::Response response = *RunRead(**lease, request, false);
  response.time_s = SecondsSince(start);
  return response;
}

std::optional<command::Response> Database::QueryQuickly(const command::Request& request) {
  const auto start = Clock::now();
  if (request.statements.size() > kQuickStatementsMax) return std::nullopt;
  std::optional<ReaderLease> lease = TryAcquireIdleReader();
  if (!lease.has_value()) return std::nullopt;
  sqlite3* db = (*lease)->handle();
  // No waiting on a lock, and no value past the quick limit: either ends the
  // attempt, and the caller runs the read where it may take its time.
  sqlite3_busy_timeout(db, 0);
  const int length_limit = sqlite3_limit(db, SQLITE_LIMIT_LENGTH, kQuickBytes);
  std::optional<command::Response> response = RunRead(**lease, request, true);
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, length_limit);
  sqlite3_busy_timeout(db, static_cast<int>(options_.busy_timeout.count()));
  if (response.has_value()) {
    response->time_s = SecondsSince(start);
    DbCounters().quick_queries.Add();
  }
  return response;
}

std::optional<command::Response> Database::RunRead(Connection& conn, const command::Request& request,
                                                   bool quick_only) {
  command::Response response;
  if (request.transaction) {
    if (Status s = conn.Exec("BEGIN"); !s.ok()) {
      if (quick_only) return std::nullopt;
      response.error = sqlite3_errmsg(conn.handle());
      return response;
    }
  }
  for (const command::Statement& statement : request.statements) {
    if (statement.sql.empty()) continue;
    RunOptions run{RunMode::kQuery, request.qualify_columns, true, request.db_timeout_ns,
                   options_.fill_expression_types};
    run.cache = &conn.read_statements();
    run.quick_only = quick_only;
    run.quick_run_max = options_.quick_read_run_max;
    run.quick_deadline = options_.quick_read_deadline;
    response.results.push_back(RunStatement(conn, statement, run));
    if (!response.results.back().error.empty()) {
      // Whatever stopped a quick read (a limit, or an error the read would
      // also meet elsewhere) is left to the full run.
      if (quick_only) {
        conn.RollbackIfOpen();
        return std::nullopt;
      }
      if (request.transaction) break;
    }
  }
  conn.RollbackIfOpen();  // a read transaction has nothing to commit
  DbMetrics& counters = DbCounters();
  counters.queries.Add(static_cast<int64_t>(request.statements.size()));
  counters.query_errors.Add(static_cast<int64_t>(FailedStatements(response)));
  if (request.transaction) counters.query_transactions.Add();
  return response;
}

Result<bool> Database::IsReadOnly(const command::Request& request) {
  Result<ReaderLease> lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  sqlite3* db = (*lease)->handle();
  for (const command::Statement& statement : request.statements) {
    bool read_only = true;
    const Status s = ForEachPrepared(db, statement.sql, [&](sqlite3_stmt* stmt) {
      read_only = sqlite3_stmt_readonly(stmt) != 0;
      return read_only;
    });
    // Conservative: what cannot be prepared here may write once it runs.
    if (!s.ok() || !read_only) return false;
  }
  return true;
}

Status Database::CheckAllowed(const command::Request& request) {
  // A batch often repeats one statement with different parameters: check
  // each distinct SQL text once.
  std::vector<std::string_view> distinct;
  distinct.reserve(request.statements.size());
  for (const command::Statement& statement : request.statements) {
    if (std::find(distinct.begin(), distinct.end(), statement.sql) == distinct.end()) distinct.push_back(statement.sql);
    if (distinct.size() > 64) break;  // then a set, below
  }
  if (distinct.size() > 64) {
    std::unordered_set<std::string_view> unique;
    for (const command::Statement& statement : request.statements) unique.insert(statement.sql);
    distinct.assign(unique.begin(), unique.end());
  }
  // Read before the check: a schema change meanwhile leaves what it passed
  // under the older generation, which the next look-up forgets.
  const uint64_t generation = schema_generation_.load(std::memory_order_acquire);
  if (allowed_texts_.AllKnown(distinct, generation)) return Status::OK();
  for (std::string_view sql : distinct) {
    RQ_RETURN_IF_ERROR(CheckTokens(sql));
  }
  RQ_RETURN_IF_ERROR(CheckOnReader(distinct));
  allowed_texts_.Remember(distinct, generation);
  return Status::OK();
}

Status Database::CheckOnReader(std::span<const std::string_view> distinct) {
  Result<ReaderLease> lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  Connection& conn = **lease;
  for (std::string_view sql : distinct) {
    const command::Statement statement{std::string(sql), {}, false};
    conn.guard().refused = Refusal::kNone;
    // Prepare only: the authorizer records what it denies. Other prepare
    // failures are not refusals; they fail at execution with SQLite's text.
    (void)ForEachPrepared(conn.handle(), statement.sql, [](sqlite3_stmt*) { return true; });
    const Refusal refused = conn.guard().refused;
    conn.guard().refused = Refusal::kNone;
    RQ_RETURN_IF_ERROR(RefusalStatus(refused));
  }
  return Status::OK();
}

Status Database::Checkpoint() {
  const auto start = Clock::now();
  Status checkpointed = CheckpointOnWriter();
  DbMetrics& counters = DbCounters();
  (checkpointed.ok() ? counters.checkpoints : counters.checkpoint_errors).Add();
  counters.checkpoint_duration_ms.Set(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  return checkpointed;
}

Status Database::Maintain(std::string_view sql) {
  WriterLock lock(this);
  Status done = writer_->ExecInternal(sql);
  // Maintenance changes no data; whatever it touched is nobody's change.
  if (capture_) capture_->Discard();
  return done;
}

Status Database::CheckpointOnWriter() {
  WriterLock lock(this);
  Connection& conn = *writer_;
  RQ_RETURN_IF_ERROR(conn.ExecInternal("PRAGMA synchronous=FULL"));
  Status result = Status::Busy("checkpoint did not complete: readers still use older WAL frames");
  for (uint32_t attempt = 0; attempt < options_.checkpoint_attempts_max; ++attempt) {
    int wal_frames = 0;
    int checkpointed_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn.handle(), "main", SQLITE_CHECKPOINT_TRUNCATE, &wal_frames,
                                             &checkpointed_frames);
    if (rc == SQLITE_OK) {
      result = Status::OK();
      break;
    }
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      result = Status::IOError(std::string("checkpoint: ") + sqlite3_errmsg(conn.handle()));
      break;
    }
    std::this_thread::sleep_for(options_.checkpoint_retry_delay);
  }
  // Back to OFF whatever happened: the Raft log is the durability.
  const Status restore = conn.ExecInternal("PRAGMA synchronous=OFF");
  RQ_RETURN_IF_ERROR(result);
  return restore;
}

Result<uint64_t> Database::WalSizeBytes() const {
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(wal_path(), ec);
  if (ec == std::errc::no_such_file_or_directory) return uint64_t{0};
  if (ec) return Status::IOError("stat " + wal_path() + ": " + ec.message());
  return size;
}

Result<Connection*> Database::StatsReader() {
  if (stats_closed_) return Status::Aborted("database is closed");
  if (stats_reader_ == nullptr) {
    ConnectionOptions conn_options{options_.foreign_keys, options_.busy_timeout, abandoned_, options_.extensions};
    Result<std::unique_ptr<Connection>> conn = Connection::Open(path_, Connection::Role::kReader, conn_options);
    if (!conn.ok()) return conn.status();
    stats_reader_ = std::move(conn).value();
    // Fixed for the life of the process (the library) and of a reader (it
    // sets only query_only): computed once.
    Result<std::string> options =
        stats_reader_->QueryText("SELECT group_concat(compile_options, char(10)) FROM pragma_compile_options");
    if (!options.ok()) return options.status();
    for (size_t start = 0; start < options->size();) {
      const size_t end = std::min(options->find('\n', start), options->size());
      compile_options_.push_back(options->substr(start, end - start));
      start = end + 1;
    }
    reader_pragmas_ = ReadPragmas(*stats_reader_);
  }
  return stats_reader_.get();
}

Result<Stats> Database::GetStats() {
  Stats stats;
  stats.sqlite_version = sqlite3_libversion();
  stats.path = path_;
  stats.foreign_keys = options_.foreign_keys;
  {
    std::lock_guard lock(stats_mu_);
    Result<Connection*> reader = StatsReader();
    if (!reader.ok()) return reader.status();
    for (const char* name : {"max_page_count", "page_count", "page_size", "hard_heap_limit", "soft_heap_limit",
                             "cache_size", "freelist_count"}) {
      Result<std::string> value = (*reader)->QueryText(std::string("PRAGMA ") + name);
      if (!value.ok()) return value.status();
      stats.mem_stats[name] = std::stoll(value.value());
    }
    stats.compile_options = compile_options_;
    stats.ro_pragmas = reader_pragmas_;
  }
  stats.db_size_bytes = static_cast<uint64_t>(stats.mem_stats["page_count"] * stats.mem_stats["page_size"]);
  stats.rw_pragmas = writer_pragmas_;
  // The parameters each role applies (db/connection.cc Configure), in the
  // key order of rqlite's url.Values.Encode.
  stats.rw_dsn = "file:" + path_ + "?_fk=" + (options_.foreign_keys ? "true" : "false") + "&_journal=WAL&_sync=0";
  stats.ro_dsn = "file:" + path_ + "?_query_only=true&mode=ro";
  const bool writer_open = writer_open_.load(std::memory_order_relaxed);
  const bool writer_in_use = writer_in_use_.load(std::memory_order_relaxed);
  stats.rw_in_transaction = writer_in_transaction_.load(std::memory_order_relaxed);
  stats.rw_pool.max_open_connections = 1;
  stats.rw_pool.open_connections = writer_open ? 1 : 0;
  stats.rw_pool.in_use = writer_open && writer_in_use ? 1 : 0;
  stats.rw_pool.idle = stats.rw_pool.open_connections - stats.rw_pool.in_use;
  stats.rw_pool.wait_count = writer_wait_count_.load(std::memory_order_relaxed);
  stats.rw_pool.wait_duration_ns = writer_wait_ns_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(pool_mu_);
    stats.ro_pool.max_open_connections = options_.max_read_connections;
    stats.ro_pool.open_connections = open_readers_;
    stats.ro_pool.idle = static_cast<uint32_t>(idle_readers_.size());
    stats.ro_pool.in_use = open_readers_ - stats.ro_pool.idle;
    stats.ro_pool.wait_count = reader_wait_count_;
    stats.ro_pool.wait_duration_ns = reader_wait_ns_;
  }
  std::error_code ec;
  stats.file_size_bytes = std::filesystem::file_size(path_, ec);
  if (ec) return Status::IOError("stat " + path_ + ": " + ec.message());
  Result<uint64_t> wal = WalSizeBytes();
  if (!wal.ok()) return wal.status();
  stats.wal_size_bytes = wal.value();
  stats.last_modified = ModifiedAt(path_);
  if (auto wal_modified = ModifiedAt(wal_path()); wal_modified && (!stats.last_modified || *wal_modified > *stats.last_modified)) {
    stats.last_modified = wal_modified;
  }
  return stats;
}

}  // namespace rq::db
