// ChangeCapture: the rows a write changed, from SQLite's pre-update hook on
// the writer connection, keeping only what SQLite committed (change data
// capture, -cdc-config).
//
// The pre-update hook fires before each row change, also for changes that a
// failed statement, a ROLLBACK TO or a rollback later undoes, so every
// captured row waits until its statement has succeeded and its transaction
// has committed:
//   - a failed statement drops the rows it captured, unless SQLite already
//     committed them (an autocommit OR FAIL keeps the rows before the
//     failure; inside a transaction those are dropped too);
//   - ROLLBACK TO a savepoint drops the rows since that savepoint (seen
//     through the statement trace, since no hook reports it);
//   - the rollback hook drops everything since the last commit, and the
//     commit hook marks what is kept.
// Column names are read after each statement (the hooks must not run SQL),
// so they are those of the schema the statement ran against. SQLite's own
// tables (sqlite_*) are never captured.
//
// Limits, so that one write cannot exhaust a node's memory on every replica:
// past kValueBytesMax of captured values a row carries its ids only, past
// kRowsMax rows nothing more is kept; the last row kept says so in `error`.
//
// Thread-safety: none; used under the Database's writer mutex.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "command/row_change.h"

namespace rq::db {

struct ChangeCaptureOptions {
  bool enabled = false;
  // Which tables' rows to capture (rqlite's table_filter); empty: all.
  // Must not throw.
  std::function<bool(std::string_view table)> table_filter;
  bool row_ids_only = false;  // no column names or values
  size_t value_bytes_max = size_t{32} << 20;
  size_t rows_max = 100'000;
};

class ChangeCapture {
 public:
  // Installs the hooks on `db` (the writer); the destructor removes them.
  ChangeCapture(sqlite3* db, ChangeCaptureOptions options);
  ~ChangeCapture();
  ChangeCapture(const ChangeCapture&) = delete;
  ChangeCapture& operator=(const ChangeCapture&) = delete;

  // Around each statement of a write.
  void BeforeStatement() { statement_start_ = rows_.size(); }
  void AfterStatement(bool failed);
  // The committed rows captured since the last call, with their tables'
  // column names; forgets whatever was not committed.
  std::vector<command::RowChange> TakeCommitted();
  // Forgets everything captured (after maintenance such as PRAGMA optimize).
  void Discard();

 private:
  static void OnPreUpdate(void* self, sqlite3* db, int op, const char* schema, const char* table,
                          sqlite3_int64 old_row_id, sqlite3_int64 new_row_id);
  static int OnCommit(void* self);
  static void OnRollback(void* self);
  static int OnTrace(unsigned type, void* self, void* stmt, void* sql);
  void Capture(sqlite3* db, int op, const char* table, sqlite3_int64 old_row_id, sqlite3_int64 new_row_id);
  void OnStatementText(std::string_view sql);
  void Truncate(size_t size);
  bool Wanted(const std::string& table);
  void NameColumns(size_t from);
  const std::vector<std::string>& ColumnsOf(const std::string& table);

  sqlite3* db_;
  ChangeCaptureOptions options_;
  std::vector<command::RowChange> rows_;
  size_t committed_ = 0;        // rows_[0, committed_) are committed
  size_t statement_start_ = 0;  // where the running statement's rows begin
  size_t named_ = 0;            // rows_[0, named_) carry their column names
  size_t value_bytes_ = 0;      // of the values in rows_
  uint64_t rows_left_out_ = 0;  // past rows_max since the last TakeCommitted
  bool values_left_out_ = false;
  // Open savepoints, outermost first: name (lower case) and rows_.size()
  // when it was made.
  std::vector<std::pair<std::string, size_t>> savepoints_;
  std::map<std::string, bool, std::less<>> wanted_;  // table_filter's answers
  std::map<std::string, std::vector<std::string>, std::less<>> columns_;
  int64_t columns_schema_version_ = -1;
};

}  // namespace rq::db
