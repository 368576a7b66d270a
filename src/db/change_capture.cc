#include "db/change_capture.h"

#include <algorithm>
#include <cctype>
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

size_t BytesOf(const command::Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return text->size() + 8;
  if (const auto* blob = std::get_if<command::Blob>(&value)) return blob->bytes.size() + 8;
  return 8;
}

size_t BytesOf(const command::RowChange& row) {
  size_t bytes = row.table.size();
  for (const command::Value& v : row.before) bytes += BytesOf(v);
  for (const command::Value& v : row.after) bytes += BytesOf(v);
  return bytes;
}

bool IsSqliteTable(std::string_view table) {
  static constexpr std::string_view kPrefix = "sqlite_";
  if (table.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(table[i])) != kPrefix[i]) return false;
  }
  return true;
}

// The words of a statement's text as SQLite reads them, enough to follow
// SAVEPOINT, RELEASE and ROLLBACK TO: comments and spaces skipped, quoted
// names unquoted, every word lower-cased (savepoint names compare without
// case in SQLite).
class Words {
 public:
  explicit Words(std::string_view sql) : sql_(sql) {}

  std::string Next() {
    SkipSpaceAndComments();
    if (at_ >= sql_.size()) return "";
    const char open = sql_[at_];
    const char close = open == '[' ? ']' : open;
    std::string word;
    if (open == '"' || open == '\'' || open == '`' || open == '[') {
      for (++at_; at_ < sql_.size(); ++at_) {
        if (sql_[at_] == close) {
          // A doubled quote is one quote character (not for [ ]).
          if (open != '[' && at_ + 1 < sql_.size() && sql_[at_ + 1] == close) {
            word += close;
            ++at_;
            continue;
          }
          ++at_;
          break;
        }
        word += Lower(sql_[at_]);
      }
      return word;
    }
    while (at_ < sql_.size() && IsWordByte(sql_[at_])) word += Lower(sql_[at_++]);
    if (word.empty()) ++at_;  // punctuation: a word of its own, skipped
    return word;
  }

 private:
  static char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
  static bool IsWordByte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '$' || u >= 0x80;
  }
  void SkipSpaceAndComments() {
    while (at_ < sql_.size()) {
      if (std::isspace(static_cast<unsigned char>(sql_[at_]))) {
        ++at_;
      } else if (sql_.substr(at_, 2) == "--") {
        const size_t end = sql_.find('\n', at_);
        at_ = end == std::string_view::npos ? sql_.size() : end + 1;
      } else if (sql_.substr(at_, 2) == "/*") {
        const size_t end = sql_.find("*/", at_ + 2);
        at_ = end == std::string_view::npos ? sql_.size() : end + 2;
      } else {
        return;
      }
    }
  }

  std::string_view sql_;
  size_t at_ = 0;
};

}  // namespace

ChangeCapture::ChangeCapture(sqlite3* db, ChangeCaptureOptions options) : db_(db), options_(std::move(options)) {
  sqlite3_preupdate_hook(db_, &ChangeCapture::OnPreUpdate, this);
  sqlite3_commit_hook(db_, &ChangeCapture::OnCommit, this);
  sqlite3_rollback_hook(db_, &ChangeCapture::OnRollback, this);
  sqlite3_trace_v2(db_, SQLITE_TRACE_STMT, &ChangeCapture::OnTrace, this);
}

ChangeCapture::~ChangeCapture() {
  sqlite3_preupdate_hook(db_, nullptr, nullptr);
  sqlite3_commit_hook(db_, nullptr, nullptr);
  sqlite3_rollback_hook(db_, nullptr, nullptr);
  sqlite3_trace_v2(db_, 0, nullptr, nullptr);
}

void ChangeCapture::Truncate(size_t size) {
  if (size >= rows_.size()) return;
  rows_.resize(size);
  committed_ = std::min(committed_, size);
  named_ = std::min(named_, size);
  value_bytes_ = 0;
  for (const command::RowChange& row : rows_) value_bytes_ += BytesOf(row);
}

void ChangeCapture::AfterStatement(bool failed) {
  const size_t start = std::min(statement_start_, rows_.size());
  if (failed) {
    // What SQLite committed stays, even from a failed statement (an
    // autocommit OR FAIL commits the rows before the failure).
    Truncate(std::max(start, committed_));
    return;
  }
  NameColumns(named_);
}

void ChangeCapture::Discard() {
  rows_.clear();
  committed_ = statement_start_ = named_ = value_bytes_ = 0;
  rows_left_out_ = 0;
  values_left_out_ = false;
  savepoints_.clear();
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
  // Temporary tables are no part of the replicated database, SQLite's own
  // (sqlite_stat1 from PRAGMA optimize, sqlite_sequence) no part of the data.
  if (schema == nullptr || table == nullptr || std::string_view(schema) != "main" || IsSqliteTable(table)) return;
  // No exception may unwind through SQLite's frames.
  try {
    self->Capture(db, op, table, old_row_id, new_row_id);
  } catch (...) {
    ++self->rows_left_out_;
  }
}

void ChangeCapture::Capture(sqlite3* db, int op, const char* table, sqlite3_int64 old_row_id,
                            sqlite3_int64 new_row_id) {
  const std::string name(table);
  if (!Wanted(name)) return;
  if (rows_.size() >= options_.rows_max) {
    ++rows_left_out_;
    return;
  }
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
  if (!options_.row_ids_only && !values_left_out_) {
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
    if (value_bytes_ + BytesOf(row) > options_.value_bytes_max) values_left_out_ = true;
  }
  if (values_left_out_ && !options_.row_ids_only) {
    row.before.clear();
    row.after.clear();
    row.error = "values left out: this write's rows hold more than " +
                std::to_string(options_.value_bytes_max >> 20) + " MiB";
  }
  value_bytes_ += BytesOf(row);
  rows_.push_back(std::move(row));
}

int ChangeCapture::OnCommit(void* self_ptr) {
  auto* self = static_cast<ChangeCapture*>(self_ptr);
  self->committed_ = self->rows_.size();
  self->savepoints_.clear();
  return 0;  // non-zero would turn the commit into a rollback
}

void ChangeCapture::OnRollback(void* self_ptr) {
  auto* self = static_cast<ChangeCapture*>(self_ptr);
  self->Truncate(self->committed_);
  self->savepoints_.clear();
}

int ChangeCapture::OnTrace(unsigned type, void* self_ptr, void*, void* sql) {
  if (type != SQLITE_TRACE_STMT || sql == nullptr) return 0;
  try {
    static_cast<ChangeCapture*>(self_ptr)->OnStatementText(static_cast<const char*>(sql));
  } catch (...) {
  }
  return 0;
}

void ChangeCapture::OnStatementText(std::string_view sql) {
  Words words(sql);
  const std::string first = words.Next();
  if (first == "savepoint") {
    savepoints_.emplace_back(words.Next(), rows_.size());
    return;
  }
  auto find = [this](const std::string& name) {
    for (size_t i = savepoints_.size(); i > 0; --i) {
      if (savepoints_[i - 1].first == name) return i - 1;
    }
    return savepoints_.size();
  };
  if (first == "release") {
    std::string name = words.Next();
    if (name == "savepoint") name = words.Next();
    const size_t i = find(name);
    if (i < savepoints_.size()) savepoints_.erase(savepoints_.begin() + static_cast<ptrdiff_t>(i), savepoints_.end());
    return;
  }
  if (first == "rollback") {
    std::string word = words.Next();
    if (word == "transaction") word = words.Next();
    if (word != "to") return;  // a whole rollback: the rollback hook
    std::string name = words.Next();
    if (name == "savepoint") name = words.Next();
    const size_t i = find(name);
    if (i == savepoints_.size()) return;
    Truncate(std::max(savepoints_[i].second, committed_));
    savepoints_.erase(savepoints_.begin() + static_cast<ptrdiff_t>(i) + 1, savepoints_.end());
  }
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

// Names the columns of rows_[from, end) by the schema now: called between
// statements, so a later ALTER TABLE in the same write does not rename them.
void ChangeCapture::NameColumns(size_t from) {
  if (from >= rows_.size()) {
    named_ = rows_.size();
    return;
  }
  if (!options_.row_ids_only) {
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
    for (size_t i = from; i < rows_.size(); ++i) {
      command::RowChange& row = rows_[i];
      if (!row.before.empty() || !row.after.empty()) row.columns = ColumnsOf(row.table);
    }
  }
  named_ = rows_.size();
}

std::vector<command::RowChange> ChangeCapture::TakeCommitted() {
  Truncate(committed_);
  NameColumns(named_);  // a dump's rows (no statement boundaries)
  std::vector<command::RowChange> rows;
  rows.swap(rows_);
  if (rows_left_out_ > 0 && !rows.empty()) {
    if (!rows.back().error.empty()) rows.back().error += "; ";
    rows.back().error += std::to_string(rows_left_out_) + " more rows this write changed are not captured (over " +
                         std::to_string(options_.rows_max) + ")";
  }
  Discard();
  return rows;
}

}  // namespace rq::db
