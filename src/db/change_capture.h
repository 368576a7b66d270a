// ChangeCapture: the rows a write changed, from SQLite's pre-update hook on
// the writer connection, keeping only what SQLite committed (change data
// capture, -cdc-config).
//
// The pre-update hook fires before each row change, also for changes that a
// failed statement or a rollback later undoes, so every captured row waits
// until its statement has succeeded and its transaction has committed:
// a failed statement drops the rows it captured (SQLite's ABORT undoes
// them; an OR FAIL statement's rows before the failure are dropped too),
// the rollback hook drops everything since the last commit, and the commit
// hook marks what is kept. Column names are read once per table and schema
// version, after the write, because the hook must not run SQL itself.
//
// Thread-safety: none; used under the Database's writer mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "command/row_change.h"

namespace rq::db {

struct ChangeCaptureOptions {
  bool enabled = false;
  // Which tables' rows to capture (rqlite's table_filter); empty: all.
  std::function<bool(std::string_view table)> table_filter;
  bool row_ids_only = false;  // no column names or values
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

 private:
  static void OnPreUpdate(void* self, sqlite3* db, int op, const char* schema, const char* table,
                          sqlite3_int64 old_row_id, sqlite3_int64 new_row_id);
  static int OnCommit(void* self);
  static void OnRollback(void* self);
  bool Wanted(const std::string& table);
  const std::vector<std::string>& ColumnsOf(const std::string& table);

  sqlite3* db_;
  ChangeCaptureOptions options_;
  std::vector<command::RowChange> rows_;
  size_t committed_ = 0;        // rows_[0, committed_) are committed
  size_t statement_start_ = 0;  // where the running statement's rows begin
  std::map<std::string, bool, std::less<>> wanted_;  // table_filter's answers
  std::map<std::string, std::vector<std::string>, std::less<>> columns_;
  int64_t columns_schema_version_ = -1;
};

}  // namespace rq::db
