// CanBatchInOneTransaction: one pass over each distinct statement text.
#include "db/batch_check.h"

#include <array>
#include <string>
#include <string_view>

namespace rq::db {

namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Upper-cases an ASCII word of at most kMaxKeyword letters into `out`;
// false when longer (no keyword we look for is).
constexpr size_t kMaxKeyword = 17;
bool UpperWord(std::string_view word, std::array<char, kMaxKeyword>& out) {
  if (word.size() > kMaxKeyword) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    const char c = word[k];
    out[k] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return true;
}

// Whether a request without ?transaction may run inside one SQLite
// transaction (one commit instead of one per statement) with results
// identical to autocommit: only plain DML, nothing that controls or ends
// transactions, one statement per string, and none of the functions that
// read what the connection did before (a transaction given up and run
// again one by one cannot put changes() back). Conservative by design: a
// word anywhere (even inside a string literal) disqualifies the request. One
// pass over each statement's words: a 1000-statement batch is checked on
// every replica, so this runs once per statement per node.
bool IsPlainDml(std::string_view sql) {
  static constexpr std::string_view kFirstWords[] = {"INSERT", "UPDATE", "DELETE", "REPLACE"};
  static constexpr std::string_view kForbidden[] = {
      "BEGIN",  "COMMIT", "END",    "ROLLBACK", "SAVEPOINT", "RELEASE",       "PRAGMA",
      "ATTACH", "DETACH", "VACUUM", "CHANGES",  "TOTAL_CHANGES", "LAST_INSERT_ROWID"};
  if (sql.find(';') != std::string_view::npos) return false;
  std::array<char, kMaxKeyword> upper{};
  bool first = true;
  size_t i = 0;
  while (i < sql.size()) {
    if (!IsWordChar(sql[i])) {
      if (first && sql[i] != ' ' && sql[i] != '\t' && sql[i] != '\r' && sql[i] != '\n') return false;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < sql.size() && IsWordChar(sql[j])) ++j;
    const std::string_view word = sql.substr(i, j - i);
    const bool short_enough = UpperWord(word, upper);
    const std::string_view upper_word(upper.data(), short_enough ? word.size() : 0);
    if (first) {
      bool dml = false;
      for (std::string_view w : kFirstWords) dml |= short_enough && upper_word == w;
      if (!dml) return false;
      first = false;
    } else if (short_enough) {
      for (std::string_view w : kForbidden) {
        if (upper_word == w) return false;
      }
    }
    i = j;
  }
  return !first;
}

}  // namespace

bool CanBatchInOneTransaction(const command::Request& request) {
  return request.statements.size() >= 2 && CanShareTransaction(request);
}

bool CanShareTransaction(const command::Request& request) {
  if (request.transaction || request.statements.empty()) return false;
  const std::string* previous = nullptr;  // a batch usually repeats one text
  for (const command::Statement& statement : request.statements) {
    if (previous != nullptr && *previous == statement.sql) continue;
    if (!IsPlainDml(statement.sql)) return false;
    previous = &statement.sql;
  }
  return true;
}

}  // namespace rq::db
