#include "db/sql_guard.h"

#include <array>
#include <string>
#include <vector>

namespace rq::db {
namespace {

constexpr std::array<std::string_view, 4> kDisallowedPragmas = {"journal_mode", "wal_checkpoint",
                                                                "wal_autocheckpoint", "synchronous"};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

enum class TokenKind { kWord, kQuotedName, kString, kPunct };

struct Token {
  TokenKind kind;
  std::string text;  // dequoted for kQuotedName
  bool IsWord(std::string_view w) const { return kind == TokenKind::kWord && EqualsIgnoreCase(text, w); }
  bool IsName() const { return kind == TokenKind::kWord || kind == TokenKind::kQuotedName; }
  bool IsPunct(char c) const { return kind == TokenKind::kPunct && text.size() == 1 && text[0] == c; }
};

bool IsWordChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$' || c >= 0x80;
}

// Reads a quoted token starting at sql[i] (the opening quote); doubled closing
// quotes are escapes. An unterminated quote runs to the end.
size_t ReadQuoted(std::string_view sql, size_t i, char close, std::string& out) {
  size_t j = i + 1;
  while (j < sql.size()) {
    if (sql[j] == close) {
      if (close != ']' && j + 1 < sql.size() && sql[j + 1] == close) {
        out += close;
        j += 2;
        continue;
      }
      return j + 1;
    }
    out += sql[j++];
  }
  return j;
}

// Skips whitespace and comments; returns the next index.
size_t SkipTrivia(std::string_view sql, size_t i) {
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  return i;
}

std::vector<Token> Tokenize(std::string_view sql) {
  std::vector<Token> tokens;
  size_t i = SkipTrivia(sql, 0);
  while (i < sql.size()) {
    const char c = sql[i];
    Token t{TokenKind::kPunct, {}};
    if (c == '\'') {
      t.kind = TokenKind::kString;
      i = ReadQuoted(sql, i, '\'', t.text);
    } else if (c == '"' || c == '`' || c == '[') {
      t.kind = TokenKind::kQuotedName;
      i = ReadQuoted(sql, i, c == '[' ? ']' : c, t.text);
    } else if (IsWordChar(static_cast<unsigned char>(c))) {
      t.kind = TokenKind::kWord;
      while (i < sql.size() && IsWordChar(static_cast<unsigned char>(sql[i]))) t.text += sql[i++];
    } else {
      t.text.assign(1, c);
      ++i;
    }
    tokens.push_back(std::move(t));
    i = SkipTrivia(sql, i);
  }
  return tokens;
}

bool IsDisallowedPragmaFunction(std::string_view name) {
  constexpr std::string_view kPrefix = "pragma_";
  if (name.size() <= kPrefix.size() || !EqualsIgnoreCase(name.substr(0, kPrefix.size()), kPrefix)) {
    return false;
  }
  return IsDisallowedPragmaName(name.substr(kPrefix.size()));
}

// SQLite's grammar accepts a string literal wherever a name goes (nm ::= id|STRING).
bool IsNameOrString(const Token& t) { return t.IsName() || t.kind == TokenKind::kString; }

// PRAGMA [schema .] name ...
bool IsDisallowedPragmaAt(const std::vector<Token>& t, size_t i) {
  if (!t[i].IsWord("pragma") || i + 1 >= t.size() || !IsNameOrString(t[i + 1])) return false;
  size_t name = i + 1;
  if (name + 2 < t.size() && t[name + 1].IsPunct('.') && IsNameOrString(t[name + 2])) name += 2;
  return IsDisallowedPragmaName(t[name].text);
}

// VACUUM [schema] INTO ...
bool IsVacuumIntoAt(const std::vector<Token>& t, size_t i) {
  if (!t[i].IsWord("vacuum")) return false;
  if (i + 1 < t.size() && t[i + 1].IsWord("into")) return true;
  return i + 2 < t.size() && t[i + 1].IsName() && t[i + 2].IsWord("into");
}

bool IsSchemaTable(const char* table) {
  if (table == nullptr) return false;
  const std::string_view name(table);
  return EqualsIgnoreCase(name, "sqlite_master") || EqualsIgnoreCase(name, "sqlite_schema") ||
         EqualsIgnoreCase(name, "sqlite_temp_master") || EqualsIgnoreCase(name, "sqlite_temp_schema");
}

// DDL, and what edits the schema without it: PRAGMA writable_schema, and a
// write to the schema table that it allows.
bool ChangesSchema(int action, const char* arg1) {
  if (action == SQLITE_INSERT || action == SQLITE_UPDATE || action == SQLITE_DELETE) return IsSchemaTable(arg1);
  if (action == SQLITE_PRAGMA) return arg1 != nullptr && EqualsIgnoreCase(arg1, "writable_schema");
  switch (action) {
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_VTABLE:
    case SQLITE_ALTER_TABLE:
      return true;
    default:
      return false;
  }
}

int Authorize(void* user, int action, const char* arg1, const char* arg2, const char* arg3,
              const char* arg4) {
  auto* state = static_cast<GuardState*>(user);
  // Counted once here, early, and once more when the write is over.
  if (state->schema_changes != nullptr && !state->schema_touched && ChangesSchema(action, arg1)) {
    state->schema_changes->fetch_add(1);
    state->schema_touched = true;
  }
  if (state->internal) return SQLITE_OK;
  Refusal refusal = Refusal::kNone;
  if (action == SQLITE_PRAGMA && arg1 != nullptr && IsDisallowedPragmaName(arg1)) {
    refusal = Refusal::kPragma;
  } else if (action == SQLITE_READ && arg1 != nullptr && IsDisallowedPragmaFunction(arg1)) {
    refusal = Refusal::kPragma;  // SELECT ... FROM pragma_journal_mode()
  } else if (action == SQLITE_ATTACH && arg1 != nullptr && arg1[0] != '\0') {
    // VACUUM INTO attaches its target file internally; plain VACUUM attaches
    // an unnamed temporary database (empty name), which stays allowed.
    refusal = Refusal::kAttach;
  } else if (action == SQLITE_DETACH) {
    refusal = Refusal::kDetach;
  }
  if (refusal == Refusal::kNone) return SQLITE_OK;
  if (state->refused == Refusal::kNone) state->refused = refusal;
  return SQLITE_DENY;
}

}  // namespace

bool IsDisallowedPragmaName(std::string_view name) {
  for (std::string_view p : kDisallowedPragmas) {
    if (EqualsIgnoreCase(name, p)) return true;
  }
  return false;
}

Status CheckTokens(std::string_view sql) {
  const std::vector<Token> t = Tokenize(sql);
  bool statement_start = true;
  for (size_t i = 0; i < t.size(); ++i) {
    if (IsDisallowedPragmaAt(t, i)) return Status::InvalidArgument(kDisallowedPragma);
    if (t[i].IsName() && IsDisallowedPragmaFunction(t[i].text)) {
      return Status::InvalidArgument(kDisallowedPragma);
    }
    if (IsVacuumIntoAt(t, i)) return Status::InvalidArgument(kVacuumIntoRefused);
    if (statement_start && t[i].IsWord("attach")) return Status::InvalidArgument(kAttachRefused);
    if (statement_start && t[i].IsWord("detach")) return Status::InvalidArgument(kDetachRefused);
    statement_start = t[i].IsPunct(';');
  }
  return Status::OK();
}

void InstallGuardAuthorizer(sqlite3* db, GuardState* state) {
  RQ_ASSERT(db != nullptr);
  RQ_ASSERT(state != nullptr);
  const int rc = sqlite3_set_authorizer(db, Authorize, state);
  RQ_ASSERT(rc == SQLITE_OK);
}

Status RefusalStatus(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return Status::OK();
    case Refusal::kPragma:
      return Status::InvalidArgument(kDisallowedPragma);
    case Refusal::kAttach:
      return Status::InvalidArgument(kAttachRefused);
    case Refusal::kDetach:
      return Status::InvalidArgument(kDetachRefused);
  }
  RQ_UNREACHABLE();
}

}  // namespace rq::db
