#include "db/connection.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <vector>

#include "db/render.h"

namespace rq::db {

namespace {

int64_t PragmaInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    value = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return value;
}

// The library's max_page_count, as a connection that never set it has it.
int64_t DefaultMaxPageCount() {
  static const int64_t value = [] {
    sqlite3* db = nullptr;
    int64_t v = -1;
    if (sqlite3_open(":memory:", &db) == SQLITE_OK) v = PragmaInt(db, "PRAGMA max_page_count");
    sqlite3_close(db);
    return v;
  }();
  return value;
}

}  // namespace

bool IsEnvironmentalFailure(sqlite3* db) {
  const int code = sqlite3_extended_errcode(db);
  switch (code & 0xff) {
    case SQLITE_IOERR:
      return code != SQLITE_IOERR_NOMEM;
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:  // another process holds the write lock
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return true;
    case SQLITE_FULL:
      // Also what a statement gets past a lowered PRAGMA max_page_count,
      // which every replica would enforce alike.
      return PragmaInt(db, "PRAGMA max_page_count") == DefaultMaxPageCount();
    case SQLITE_READONLY:
      // The plain code is also PRAGMA query_only's; the extended ones are
      // the file's (moved, unlockable, read-only directory...).
      return code != SQLITE_READONLY;
    default:
      // Not NOMEM or CORRUPT: one statement can provoke them on every
      // replica (a 1 GB zeroblob on small machines, FTS shadow tables), and
      // stopping on an entry that every replica fails the same way would
      // stop them all again at each restart.
      return false;
  }
}

namespace {

using Clock = std::chrono::steady_clock;

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtCloser>;

std::string Lower(const char* s) {
  std::string out = s == nullptr ? "" : s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

command::StatementResult ErrorResult(std::string message) {
  command::StatementResult r;
  r.error = std::move(message);
  return r;
}

// Interrupts the connection's current statement once its deadline passes
// (reads: this node's clock) or once it has spent its VM-step budget
// (replicated writes: a count every replica reaches at the same instruction,
// so all of them stop the same write, or none). Installed for the life of
// one RunStatement call.
class StatementLimits {
 public:
  StatementLimits(sqlite3* db, int64_t timeout_ns, int64_t vm_step_budget, const std::atomic<bool>* abandoned)
      : db_(db), abandoned_(abandoned) {
    if (timeout_ns > 0) deadline_ = Clock::now() + std::chrono::nanoseconds(timeout_ns);
    if (vm_step_budget > 0) budget_checks_ = (vm_step_budget + kStepsPerCheck - 1) / kStepsPerCheck;
    armed_ = deadline_.has_value() || budget_checks_ > 0 || abandoned_ != nullptr;
    // Cheap, and fine-grained enough for ms deadlines.
    if (armed_) sqlite3_progress_handler(db_, kStepsPerCheck, &StatementLimits::Check, this);
  }
  ~StatementLimits() {
    if (armed_) sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  }
  StatementLimits(const StatementLimits&) = delete;
  StatementLimits& operator=(const StatementLimits&) = delete;

  // Only steps of the request's own statements count against the budget,
  // not those SQLite runs while preparing (a schema load happens on one
  // replica's first statement after a restart and not on another's).
  void BeginStepping() { stepping_ = true; }
  void EndStepping() { stepping_ = false; }

  bool Expired() const { return budget_spent_ || (deadline_ && Clock::now() >= *deadline_); }
  bool Abandoned() const { return abandoned_ != nullptr && abandoned_->load(std::memory_order_relaxed); }

 private:
  static constexpr int kStepsPerCheck = 1000;

  static int Check(void* self) { return static_cast<StatementLimits*>(self)->ShouldInterrupt() ? 1 : 0; }
  bool ShouldInterrupt() {
    if (stepping_ && budget_checks_ > 0 && ++checks_ >= budget_checks_) budget_spent_ = true;
    return Expired() || Abandoned();
  }

  sqlite3* db_;
  const std::atomic<bool>* abandoned_;
  std::optional<Clock::time_point> deadline_;
  int64_t budget_checks_ = 0;  // progress callbacks allowed while stepping; 0 = no budget
  int64_t checks_ = 0;
  bool stepping_ = false;
  bool budget_spent_ = false;
  bool armed_ = false;
};

// Binds request parameters across the SQL statements of one request
// statement, as go-sqlite3 does: positional values are consumed in order by
// each statement's parameter slots; a named value binds :name, @name and
// $name wherever the statement uses them.
class Binder {
 public:
  explicit Binder(const std::vector<command::Parameter>& params) {
    for (const command::Parameter& p : params) (p.name.empty() ? positional_ : named_).push_back(&p);
  }

  // Empty string on success, else the error text.
  std::string Bind(sqlite3* db, sqlite3_stmt* stmt) {
    const int slots = sqlite3_bind_parameter_count(stmt);
    const size_t remaining = positional_.size() - next_;
    if (remaining + named_.size() < static_cast<size_t>(slots)) {
      return "not enough args to execute query: want " + std::to_string(slots) + " got " +
             std::to_string(remaining + named_.size());
    }
    const size_t take = std::min(remaining, static_cast<size_t>(slots));
    for (size_t i = 0; i < take; ++i) {
      if (BindValue(stmt, static_cast<int>(i + 1), positional_[next_ + i]->value) != SQLITE_OK) {
        return sqlite3_errmsg(db);
      }
    }
    next_ += take;
    for (const command::Parameter* p : named_) {
      for (const char* prefix : {":", "@", "$"}) {
        const int index = sqlite3_bind_parameter_index(stmt, (prefix + p->name).c_str());
        if (index > 0 && BindValue(stmt, index, p->value) != SQLITE_OK) return sqlite3_errmsg(db);
      }
    }
    return {};
  }

 private:
  static int BindValue(sqlite3_stmt* stmt, int index, const command::Value& v) {
    if (const auto* i = std::get_if<int64_t>(&v)) return sqlite3_bind_int64(stmt, index, *i);
    if (const auto* d = std::get_if<double>(&v)) return sqlite3_bind_double(stmt, index, *d);
    if (const auto* b = std::get_if<bool>(&v)) return sqlite3_bind_int(stmt, index, *b ? 1 : 0);
    if (const auto* s = std::get_if<std::string>(&v)) {
      return sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (const auto* blob = std::get_if<command::Blob>(&v)) {
      // An empty BLOB stays a BLOB (zeroblob), not NULL.
      if (blob->bytes.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
      return sqlite3_bind_blob64(stmt, index, blob->bytes.data(), blob->bytes.size(), SQLITE_TRANSIENT);
    }
    return sqlite3_bind_null(stmt, index);
  }

  std::vector<const command::Parameter*> positional_;
  std::vector<const command::Parameter*> named_;
  size_t next_ = 0;
};

std::string StepError(sqlite3* db, int rc, const StatementLimits& limits, bool rows) {
  if ((rc & 0xff) == SQLITE_INTERRUPT && limits.Abandoned()) return std::string(kAbandoned);
  if ((rc & 0xff) == SQLITE_INTERRUPT && limits.Expired()) {
    return std::string(rows ? kQueryTimeout : kExecuteTimeout);
  }
  return sqlite3_errmsg(db);
}

command::StatementResult SqliteErrorResult(sqlite3* db, int rc, const StatementLimits& limits, bool rows) {
  command::StatementResult r = ErrorResult(StepError(db, rc, limits, rows));
  r.environmental = IsEnvironmentalFailure(db);
  return r;
}

size_t ValueBytes(const command::Value& v) {
  if (const auto* text = std::get_if<std::string>(&v)) return text->size();
  if (const auto* blob = std::get_if<command::Blob>(&v)) return blob->bytes.size();
  return sizeof(int64_t);
}

command::StatementResult StepRows(sqlite3* db, sqlite3_stmt* stmt, const RunOptions& options,
                                  const StatementLimits& limits) {
  command::StatementResult r;
  r.has_rows = true;
  // Columns are read after the first step: a cached statement whose schema
  // changed is prepared again inside it, and only then names the new
  // columns (a `SELECT *` past an ALTER TABLE).
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteErrorResult(db, rc, limits, true);
  const int n = sqlite3_column_count(stmt);
  size_t quick_bytes = 0;
  for (int i = 0; i < n; ++i) {
    std::string name = sqlite3_column_name(stmt, i);
    const char* table = sqlite3_column_table_name(stmt, i);
    if (options.qualify_columns && table != nullptr) name = std::string(table) + "." + name;
    r.columns.push_back(std::move(name));
    r.types.push_back(Lower(sqlite3_column_decltype(stmt, i)));
  }
  for (; rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
    std::vector<command::Value> row;
    row.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      // rqlite renders later rows with the types the first row filled in
      // (db.go normalizeRowValues); filling never yields a time or boolean
      // type, so go-sqlite3's declared-type rules are unaffected.
      Result<command::Value> v = ReadColumn(stmt, i, r.types[i]);
      if (!v.ok()) return ErrorResult(v.status().message());
      row.push_back(std::move(v).value());
      if (options.quick_only) {
        quick_bytes += ValueBytes(row.back());
        if (quick_bytes > static_cast<size_t>(kQuickBytes)) return ErrorResult(std::string(kNotQuick));
      }
    }
    if (r.values.empty() && options.fill_expression_types) FillEmptyTypesFromRow(r.types, row);
    r.values.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return SqliteErrorResult(db, rc, limits, true);
  return r;
}

command::StatementResult StepCounts(sqlite3* db, sqlite3_stmt* stmt, const StatementLimits& limits) {
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteErrorResult(db, rc, limits, false);
  }
  command::StatementResult r;
  // Connection-wide values, exactly as go-sqlite3 reports them: an UPDATE
  // after an INSERT repeats the insert's id (API.md 10.3), and a DDL
  // statement repeats the previous statement's counts (observed on rqlite
  // 8.28). Chosen on purpose: v10 still reads both through the same driver
  // calls (db.go executeStmtWithConn: LastInsertId, RowsAffected).
  r.last_insert_id = sqlite3_last_insert_rowid(db);
  r.rows_affected = sqlite3_changes64(db);
  return r;
}

}  // namespace

int64_t VmStepBudgetFor(int64_t db_timeout_ns) {
  if (db_timeout_ns <= 0) return 0;
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  // Whole seconds and the rest apart: the product of the ns and the rate
  // would overflow past 184 s; this cannot, even for the longest timeout.
  static_assert(std::numeric_limits<int64_t>::max() / kNanosPerSecond <
                std::numeric_limits<int64_t>::max() / kVmStepsPerSecond);
  const int64_t seconds = db_timeout_ns / kNanosPerSecond;
  const int64_t rest = db_timeout_ns % kNanosPerSecond * kVmStepsPerSecond / kNanosPerSecond;
  return std::max<int64_t>(1, seconds * kVmStepsPerSecond + rest);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Role role,
                                                     const ConnectionOptions& options) {
  const int flags = (role == Role::kWriter ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db, role));
  if (rc != SQLITE_OK) {
    return Status::IOError("open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
  }
  RQ_RETURN_IF_ERROR(conn->Configure(options).WithContext("open " + path));
  conn->abandoned_ = options.abandoned;
  return conn;
}

Status Connection::Configure(const ConnectionOptions& options) {
  int enabled = 0;
  if (sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &enabled) != SQLITE_OK || enabled != 1) {
    return Error("disable checkpoint on close");
  }
  sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
  if (role_ == Role::kWriter) {
    Result<std::string> mode = QueryText("PRAGMA journal_mode=WAL");
    if (!mode.ok()) return mode.status();
    if (*mode != "wal") return Status::IOError("cannot enable WAL mode (journal_mode is " + *mode + ")");
    RQ_RETURN_IF_ERROR(Exec("PRAGMA synchronous=OFF"));
    RQ_RETURN_IF_ERROR(Exec("PRAGMA wal_autocheckpoint=0"));
    RQ_RETURN_IF_ERROR(Exec(options.foreign_keys ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF"));
    RQ_RETURN_IF_ERROR(InstallSeededRandom(db_, &random_));
  } else {
    RQ_RETURN_IF_ERROR(Exec("PRAGMA query_only=1"));
  }
  RQ_RETURN_IF_ERROR(LoadExtensions(options.extensions));
  InstallGuardAuthorizer(db_, &guard_);
  return Status::OK();
}

Status Connection::LoadExtensions(const std::vector<std::string>& paths) {
  if (paths.empty()) return Status::OK();
  // The C API only: SQL's load_extension() is not enabled by this option.
  if (sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, nullptr) != SQLITE_OK) {
    return Error("enable extension loading");
  }
  Status loaded = Status::OK();
  for (const std::string& path : paths) {
    char* message = nullptr;
    if (sqlite3_load_extension(db_, path.c_str(), nullptr, &message) != SQLITE_OK) {
      loaded = Status::InvalidArgument("cannot load SQLite extension " + path + ": " +
                                       (message != nullptr ? message : "unknown error"));
      sqlite3_free(message);
      break;
    }
  }
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  return loaded;
}

Connection::~Connection() {
  read_statements_.Clear();
  const int rc = sqlite3_close_v2(db_);
  RQ_ASSERT(rc == SQLITE_OK);
}

Status Connection::Error(std::string_view context) const {
  return Status::IOError(std::string(context) + ": " + sqlite3_errmsg(db_));
}

Status Connection::Exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return Error(text);
  return Status::OK();
}

Status Connection::ExecInternal(std::string_view sql) {
  guard_.internal = true;
  Status s = Exec(sql);
  guard_.internal = false;
  return s;
}

Result<std::string> Connection::QueryText(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  guard_.internal = true;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtPtr stmt(raw);
  std::string out;
  if (rc == SQLITE_OK && stmt != nullptr) {
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
      out = p == nullptr ? "" : p;
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  guard_.internal = false;
  if (rc != SQLITE_OK) return Error(sql);
  return out;
}

void Connection::RollbackIfOpen() {
  if (!InTransaction()) return;
  // ROLLBACK fails only when no transaction is open, which we just checked.
  const Status s = Exec("ROLLBACK");
  RQ_ASSERT_MSG(s.ok(), s.message().c_str());
}

StatementCache::~StatementCache() { Clear(); }

void StatementCache::Clear() {
  for (Entry& entry : entries_) sqlite3_finalize(entry.stmt);
  entries_.clear();
  next_victim_ = 0;
}

StatementCache::Entry* StatementCache::Find(std::string_view sql) {
  for (Entry& entry : entries_) {
    if (entry.sql == sql) return &entry;
  }
  return nullptr;
}

void StatementCache::NoteRun(std::string_view sql, bool quick) {
  if (Entry* entry = Find(sql); entry != nullptr) entry->quick = quick;
}

void StatementCache::Keep(std::string_view sql, sqlite3_stmt* stmt) {
  if (entries_.size() < kCapacity) {
    entries_.push_back(Entry{std::string(sql), stmt});
    return;
  }
  Entry& victim = entries_[next_victim_];
  next_victim_ = (next_victim_ + 1) % kCapacity;
  sqlite3_finalize(victim.stmt);
  victim = Entry{std::string(sql), stmt};
}

namespace {

bool OnlyWhitespace(const char* begin, const char* end) {
  for (const char* p = begin; p < end; ++p) {
    if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return false;
  }
  return true;
}

// One prepared statement for one use: a cached one goes back reset and
// unbound; a fresh one is finalized, or kept when the cache may have it.
class PreparedUse {
 public:
  PreparedUse(sqlite3_stmt* stmt, StatementCache* keep_in, std::string_view sql, bool from_cache)
      : stmt_(stmt), cache_(keep_in), sql_(sql), from_cache_(from_cache) {}
  ~PreparedUse() {
    if (stmt_ == nullptr) return;
    if (from_cache_ || cache_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      if (!from_cache_) cache_->Keep(sql_, stmt_);
    } else {
      sqlite3_finalize(stmt_);
    }
  }
  PreparedUse(const PreparedUse&) = delete;
  PreparedUse& operator=(const PreparedUse&) = delete;
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
  StatementCache* cache_;  // keep a fresh statement here; nullptr: finalize
  std::string_view sql_;
  bool from_cache_;
};

}  // namespace

command::StatementResult RunStatement(Connection& conn, const command::Statement& statement,
                                      const RunOptions& options) {
  const auto start = Clock::now();
  sqlite3* db = conn.handle();
  // One lookup per request. No Keep runs while a kept statement is in use,
  // so the entry stays valid to the end.
  StatementCache::Entry* const kept = options.cache != nullptr ? options.cache->Find(statement.sql) : nullptr;
  if (options.quick_only && (kept == nullptr || !kept->quick)) return ErrorResult(std::string(kNotQuick));
  const int64_t quick_ns = std::chrono::nanoseconds(options.quick_deadline).count();
  StatementLimits limits(db,
                         options.quick_only && (options.timeout_ns == 0 || options.timeout_ns > quick_ns)
                             ? quick_ns
                             : options.timeout_ns,
                         options.quick_only ? kQuickVmSteps : options.vm_step_budget, conn.abandoned_flag());
  if (limits.Abandoned()) return ErrorResult(std::string(kAbandoned));
  bool cache_holds_it = false;  // the statement run is the one `cache` keeps for this text
  std::chrono::steady_clock::duration stepped{};
  Binder binder(statement.parameters);
  command::StatementResult result;
  const char* next = statement.sql.data();
  const char* const end = next + statement.sql.size();
  bool bypass_cache = false;
  while (next < end) {
    const bool whole_text = next == statement.sql.data();
    sqlite3_stmt* cached = whole_text && kept != nullptr && !bypass_cache ? kept->stmt : nullptr;
    sqlite3_stmt* raw = cached;
    bool keep = false;
    if (cached != nullptr) {
      next = end;
    } else {
      const char* tail = nullptr;
      const int rc = sqlite3_prepare_v2(db, next, static_cast<int>(end - next), &raw, &tail);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(raw);
        result = SqliteErrorResult(db, rc, limits, options.mode == RunMode::kQuery);
        break;
      }
      next = tail;
      if (raw == nullptr) continue;  // only whitespace or comments
      // What each side repeats: batches of writes on the writer, reads on a
      // reader. Either is safe across schema changes, since rows name their
      // columns after the first step (StepRows).
      const bool cacheable = options.refuse_writes
                                 ? sqlite3_stmt_readonly(raw) != 0
                                 : sqlite3_column_count(raw) == 0 && sqlite3_stmt_readonly(raw) == 0;
      keep = whole_text && options.cache != nullptr && !bypass_cache && OnlyWhitespace(tail, end) && cacheable &&
             statement.sql.size() <= StatementCache::kMaxSqlBytes;
    }
    PreparedUse stmt(raw, keep ? options.cache : nullptr, statement.sql, cached != nullptr);
    cache_holds_it = keep || cached != nullptr;
    if (options.refuse_writes && sqlite3_stmt_readonly(stmt.get()) == 0) {
      result = ErrorResult(std::string(kWriteOnQueryPath));
      break;
    }
    if (std::string e = binder.Bind(db, stmt.get()); !e.empty()) {
      if (cached != nullptr && !options.quick_only) {
        // Bound against the schema it was prepared for: a fresh prepare
        // reports what changed ("no such table") as an uncached one would.
        kept->quick = false;
        bypass_cache = true;
        next = statement.sql.data();
        binder = Binder(statement.parameters);
        continue;
      }
      result = ErrorResult(std::move(e));
      break;
    }
    const bool rows = options.mode == RunMode::kQuery ||
                      (options.mode == RunMode::kAuto && sqlite3_column_count(stmt.get()) > 0);
    // SQLite places the progress callback by the statement's running VM-step
    // count, which a reset keeps: start a reused statement at zero, so its
    // budget is a fresh one's.
    sqlite3_stmt_status(stmt.get(), SQLITE_STMTSTATUS_VM_STEP, 1);
    const auto step_start = Clock::now();
    limits.BeginStepping();
    result = rows ? StepRows(db, stmt.get(), options, limits) : StepCounts(db, stmt.get(), limits);
    limits.EndStepping();
    stepped = Clock::now() - step_start;
    if (!result.error.empty()) break;
  }
  if (cache_holds_it) {
    const bool quick = result.error.empty() && stepped < options.quick_run_max;
    if (kept != nullptr) kept->quick = quick;
    else options.cache->NoteRun(statement.sql, quick);  // kept just now, by this run
  }
  result.time_s = SecondsSince(start);
  return result;
}

}  // namespace rq::db
