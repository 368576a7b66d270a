#include "cli/input.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>

#include "base/assert.h"

namespace rq::cli {

std::string_view Trim(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size() && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  size_t end = text.size();
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> DotCommand::Words() const {
  std::vector<std::string> words;
  std::string_view rest = args;
  while (!(rest = Trim(rest)).empty()) {
    size_t end = 0;
    while (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end]))) ++end;
    words.emplace_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  return words;
}

std::optional<DotCommand> ParseDotCommand(std::string_view line) {
  std::string_view text = Trim(line);
  if (text.empty() || text.front() != '.') return std::nullopt;
  size_t end = 0;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
  DotCommand command;
  command.name = ToLower(text.substr(0, end));
  command.args = std::string(Trim(text.substr(end)));
  return command;
}

bool IsQuitCommand(std::string_view line) {
  std::string_view text = Trim(line);
  size_t end = 0;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
  std::string word = ToLower(text.substr(0, end));
  return word == ".exit" || word == ".quit" || word == "exit" || word == "quit";
}

SqlSplitter::SqlSplitter() {
  int rc = sqlite3_open_v2(":memory:", &scratch_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  RQ_ASSERT(rc == SQLITE_OK);
}

SqlSplitter::~SqlSplitter() { sqlite3_close(scratch_); }

bool SqlSplitter::IsEmptyStatement(std::string_view text) const {
  std::string copy(text);
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(scratch_, copy.c_str(), static_cast<int>(copy.size()), &stmt, &tail);
  bool empty = rc == SQLITE_OK && stmt == nullptr;
  sqlite3_finalize(stmt);
  return empty;
}

bool SqlSplitter::NeedsMoreInput(std::string_view text) const {
  // An unterminated string, comment or trigger body: no ';' can end it yet.
  std::string probe = std::string(text) + "\n;";
  if (!sqlite3_complete(probe.c_str())) return true;
  std::string copy(text);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(scratch_, copy.c_str(), static_cast<int>(copy.size()), &stmt, nullptr);
  bool incomplete = rc != SQLITE_OK && std::strcmp(sqlite3_errmsg(scratch_), "incomplete input") == 0;
  sqlite3_finalize(stmt);
  return incomplete;
}

SqlSplitter::Analysis SqlSplitter::Analyze(std::string_view text) const {
  Analysis analysis;
  size_t start = 0;
  // Every ';' where sqlite3_complete() says the statement since `start`
  // ends is a boundary; ';' inside strings or triggers is not.
  for (size_t i = text.find(';'); i != std::string_view::npos; i = text.find(';', i + 1)) {
    std::string piece(text.substr(start, i + 1 - start));
    if (!sqlite3_complete(piece.c_str())) continue;
    if (!IsEmptyStatement(piece)) analysis.statements.emplace_back(Trim(piece));
    start = i + 1;
  }
  std::string_view rest = text.substr(start);
  if (Trim(rest).empty()) {
    analysis.complete = true;
    return analysis;
  }
  if (NeedsMoreInput(rest)) {
    analysis.statements.clear();
    return analysis;
  }
  if (IsEmptyStatement(rest)) {
    analysis.complete = true;
    return analysis;
  }
  analysis.statements.emplace_back(Trim(rest));
  analysis.complete = true;
  return analysis;
}

}  // namespace rq::cli
