#include "cdc/queue.h"

#include <sqlite3.h>

#include <filesystem>

namespace rq::cdc {

namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::IOError("cdc queue: " + what + ": " + sqlite3_errmsg(db));
}

Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return SqliteError(db, "prepare");
  return Stmt(raw);
}

}  // namespace

Result<std::unique_ptr<Queue>> Queue::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cdc queue: cannot create " + dir + ": " + ec.message());
  const std::string path = dir + "/queue.db";
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<Queue> queue(new Queue(path, db));
  if (rc != SQLITE_OK) return SqliteError(db, "cannot open " + path);
  RQ_RETURN_IF_ERROR(queue->Exec("PRAGMA journal_mode=WAL"));
  RQ_RETURN_IF_ERROR(queue->Exec("PRAGMA synchronous=NORMAL"));
  RQ_RETURN_IF_ERROR(
      queue->Exec("CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, json TEXT NOT NULL);"
                  "CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"));
  RQ_RETURN_IF_ERROR(queue->Load());
  return queue;
}

Queue::~Queue() { sqlite3_close(db_); }

Status Queue::Exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    Status s = Status::IOError("cdc queue " + path_ + ": " + (error != nullptr ? error : "error"));
    sqlite3_free(error);
    return s;
  }
  return Status::OK();
}

Status Queue::Load() {
  RQ_ASSIGN_OR_RETURN(Stmt mark, Prepare(db_, "SELECT value FROM state WHERE name = 'high_water_mark'"));
  if (sqlite3_step(mark.get()) == SQLITE_ROW) high_water_mark_ = static_cast<uint64_t>(sqlite3_column_int64(mark.get(), 0));
  RQ_ASSIGN_OR_RETURN(Stmt stats, Prepare(db_, "SELECT count(*), coalesce(max(idx), 0) FROM entries"));
  if (sqlite3_step(stats.get()) != SQLITE_ROW) return SqliteError(db_, "read " + path_);
  length_ = static_cast<uint64_t>(sqlite3_column_int64(stats.get(), 0));
  last_index_ = std::max(high_water_mark_, static_cast<uint64_t>(sqlite3_column_int64(stats.get(), 1)));
  return Status::OK();
}

Result<bool> Queue::Append(uint64_t index, const std::string& json) {
  std::lock_guard lock(mu_);
  if (index <= last_index_) return false;
  RQ_ASSIGN_OR_RETURN(Stmt insert, Prepare(db_, "INSERT INTO entries (idx, json) VALUES (?1, ?2)"));
  sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(index));
  sqlite3_bind_text(insert.get(), 2, json.data(), static_cast<int>(json.size()), SQLITE_STATIC);
  if (sqlite3_step(insert.get()) != SQLITE_DONE) return SqliteError(db_, "append to " + path_);
  last_index_ = index;
  ++length_;
  return true;
}

Result<std::vector<QueuedEntry>> Queue::ReadAfter(uint64_t after, int max) {
  std::lock_guard lock(mu_);
  RQ_ASSIGN_OR_RETURN(Stmt select, Prepare(db_, "SELECT idx, json FROM entries WHERE idx > ?1 ORDER BY idx LIMIT ?2"));
  sqlite3_bind_int64(select.get(), 1, static_cast<sqlite3_int64>(after));
  sqlite3_bind_int(select.get(), 2, max);
  std::vector<QueuedEntry> entries;
  int rc;
  while ((rc = sqlite3_step(select.get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 1));
    entries.push_back({static_cast<uint64_t>(sqlite3_column_int64(select.get(), 0)),
                       std::string(text == nullptr ? "" : text, static_cast<size_t>(sqlite3_column_bytes(select.get(), 1)))});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read " + path_);
  return entries;
}

Status Queue::SetHighWaterMark(uint64_t index) {
  std::lock_guard lock(mu_);
  if (index <= high_water_mark_) return Status::OK();
  RQ_ASSIGN_OR_RETURN(Stmt prune, Prepare(db_, "DELETE FROM entries WHERE idx <= ?1"));
  RQ_ASSIGN_OR_RETURN(Stmt mark,
                      Prepare(db_, "INSERT OR REPLACE INTO state (name, value) VALUES ('high_water_mark', ?1)"));
  sqlite3_bind_int64(prune.get(), 1, static_cast<sqlite3_int64>(index));
  sqlite3_bind_int64(mark.get(), 1, static_cast<sqlite3_int64>(index));
  RQ_RETURN_IF_ERROR(Exec("BEGIN"));
  bool ok = sqlite3_step(prune.get()) == SQLITE_DONE;
  const uint64_t pruned = ok ? static_cast<uint64_t>(sqlite3_changes(db_)) : 0;
  ok = ok && sqlite3_step(mark.get()) == SQLITE_DONE;
  if (!ok) {
    Status error = SqliteError(db_, "set the high-water mark in " + path_);
    (void)Exec("ROLLBACK");
    return error;
  }
  RQ_RETURN_IF_ERROR(Exec("COMMIT"));
  high_water_mark_ = index;
  last_index_ = std::max(last_index_, index);
  length_ -= std::min(length_, pruned);
  return Status::OK();
}

Status Queue::Sync() {
  std::lock_guard lock(mu_);
  // A checkpoint syncs the WAL before copying it into the file.
  return Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

uint64_t Queue::high_water_mark() const {
  std::lock_guard lock(mu_);
  return high_water_mark_;
}

uint64_t Queue::last_index() const {
  std::lock_guard lock(mu_);
  return last_index_;
}

uint64_t Queue::length() const {
  std::lock_guard lock(mu_);
  return length_;
}

}  // namespace rq::cdc
