#include "db/change_capture.h"

#include <algorithm>
#include <utility>

namespace rq::db {

namespace {

command::Value ValueOf(sqlite3_value* value) {
  if (value == nullptr) return std::monostate{};
  switch (sqlite3_value_type(value)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_value_int64(value));
    case SQLITE_FLOAT:
      return sqlite3_value_double(value);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(value));
      return std::string(text == nullptr ? "" : text, static_cast<size_t>(sqlite3_value_bytes(value)));
    }
    case SQLITE_BLOB: {
      const auto* bytes = static_cast<const char*>(sqlite3_value_blob(value));
      return command::Blob{std::string(bytes == nullptr ? "" : bytes, static_cast<size_t>(sqlite3_value_bytes(value)))};
    }
    default:
      return std::monostate{};
  }
}

}  // namespace

ChangeCapture::ChangeCapture(sqlite3* db, ChangeCaptureOptions options) : db_(db), options_(std::move(options)) {
  sqlite3_preupdate_hook(db_, &ChangeCapture::OnPreUpdate, this);
  sqlite3_commit_hook(db_, &ChangeCapture::OnCommit, this);
  sqlite3_rollback_hook(db_, &ChangeCapture::OnRollback, this);
}

ChangeCapture::~ChangeCapture() {
  sqlite3_preupdate_hook(db_, nullptr, nullptr);
  sqlite3_commit_hook(db_, nullptr, nullptr);
  sqlite3_rollback_hook(db_, nullptr, nullptr);
}

void ChangeCapture::AfterStatement(bool failed) {
  if (!failed) return;
  const size_t keep = std::min(statement_start_, rows_.size());
  rows_.resize(keep);
  committed_ = std::min(committed_, keep);
}

bool ChangeCapture::Wanted(const std::string& table) {
  if (!options_.table_filter) return true;
  auto it = wanted_.find(table);
  if (it == wanted_.end()) it = wanted_.emplace(table, options_.table_filter(table)).first;
  return it->second;
}

void ChangeCapture::OnPreUpdate(void* self_ptr, sqlite3* db, int op, const char* schema, const char* table,
                                sqlite3_int64 old_row_id, sqlite3_int64 new_row_id) {
  auto* self = static_cast<ChangeCapture*>(self_ptr);
  // Temporary tables are no part of the replicated database.
  if (schema == nullptr || table == nullptr || std::string_view(schema) != "main") return;
  const std::string name(table);
  if (!self->Wanted(name)) return;
  command::RowChange row;
  row.table = name;
  switch (op) {
    case SQLITE_INSERT:
      row.op = command::RowOp::kInsert;
      row.new_row_id = new_row_id;
      break;
    case SQLITE_UPDATE:
      row.op = command::RowOp::kUpdate;
      row.old_row_id = old_row_id;
      row.new_row_id = new_row_id;
      break;
    case SQLITE_DELETE:
      row.op = command::RowOp::kDelete;
      row.old_row_id = old_row_id;
      break;
    default:
      return;
  }
  if (!self->options_.row_ids_only) {
    const int count = sqlite3_preupdate_count(db);
    for (int i = 0; i < count; ++i) {
      sqlite3_value* value = nullptr;
      if (row.op != command::RowOp::kInsert) {
        value = nullptr;
        sqlite3_preupdate_old(db, i, &value);
        row.before.push_back(ValueOf(value));
      }
      if (row.op != command::RowOp::kDelete) {
        value = nullptr;
        sqlite3_preupdate_new(db, i, &value);
        row.after.push_back(ValueOf(value));
      }
    }
  }
  self->rows_.push_back(std::move(row));
}

int ChangeCapture::OnCommit(void* self_ptr) {
  auto* self = static_cast<ChangeCapture*>(self_ptr);
  self->committed_ = self->rows_.size();
  return 0;  // non-zero would turn the commit into a rollback
}

void ChangeCapture::OnRollback(void* self_ptr) {
  auto* self = static_cast<ChangeCapture*>(self_ptr);
  self->rows_.resize(self->committed_);
}

const std::vector<std::string>& ChangeCapture::ColumnsOf(const std::string& table) {
  auto it = columns_.find(table);
  if (it != columns_.end()) return it->second;
  std::vector<std::string> names;
  sqlite3_stmt* stmt = nullptr;
  // table_xinfo: generated columns too, in the order the hook numbers them.
  if (sqlite3_prepare_v2(db_, "SELECT name FROM pragma_table_xinfo(?1, 'main') WHERE hidden IN (0, 2, 3)", -1, &stmt,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, table.data(), static_cast<int>(table.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      names.emplace_back(text == nullptr ? "" : text);
    }
  }
  sqlite3_finalize(stmt);
  return columns_.emplace(table, std::move(names)).first->second;
}

std::vector<command::RowChange> ChangeCapture::TakeCommitted() {
  std::vector<command::RowChange> rows;
  rows_.resize(committed_);
  rows.swap(rows_);
  committed_ = 0;
  statement_start_ = 0;
  if (rows.empty() || options_.row_ids_only) return rows;
  int64_t schema_version = -1;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA schema_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    schema_version = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  if (schema_version != columns_schema_version_ || schema_version < 0) {
    columns_.clear();
    columns_schema_version_ = schema_version;
  }
  for (command::RowChange& row : rows) row.columns = ColumnsOf(row.table);
  return rows;
}

}  // namespace rq::db
