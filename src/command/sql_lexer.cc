// SQLite's lexical rules, after tokenize.c (sqlite3GetToken).
#include "command/sql_lexer.h"

#include "base/assert.h"

namespace rq::command {
namespace {

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// SQLite treats every byte >= 0x80 as an identifier character (UTF-8).
bool IsIdStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsIdChar(unsigned char c) { return IsIdStart(c) || IsDigit(c) || c == '$'; }

// One scanned token: its kind and length in bytes.
struct Scan {
  TokenKind kind;
  size_t size;
};

class Scanner {
 public:
  explicit Scanner(std::string_view sql) : sql_(sql) {}

  unsigned char At(size_t i) const { return i < sql_.size() ? static_cast<unsigned char>(sql_[i]) : 0; }

  // Skips whitespace and comments from pos; returns the first token byte.
  // An unterminated /* comment runs to the end of input, as in SQLite.
  size_t SkipTrivia(size_t pos) const {
    while (pos < sql_.size()) {
      unsigned char c = At(pos);
      if (IsSpace(c)) {
        ++pos;
      } else if (c == '-' && At(pos + 1) == '-') {
        size_t end = sql_.find('\n', pos);
        pos = end == std::string_view::npos ? sql_.size() : end + 1;
      } else if (c == '/' && At(pos + 1) == '*') {
        size_t end = sql_.find("*/", pos + 2);
        pos = end == std::string_view::npos ? sql_.size() : end + 2;
      } else {
        break;
      }
    }
    return pos;
  }

  // REQUIRES: pos < size, At(pos) starts a token (not trivia).
  Scan Next(size_t pos) const {
    unsigned char c = At(pos);
    if (c == '\'') return Quoted(pos, '\'', TokenKind::kString);
    if (c == '"') return Quoted(pos, '"', TokenKind::kQuotedIdentifier);
    if (c == '`') return Quoted(pos, '`', TokenKind::kQuotedIdentifier);
    if (c == '[') return Bracketed(pos);
    if ((c == 'x' || c == 'X') && At(pos + 1) == '\'') return BlobLiteral(pos);
    if (IsDigit(c) || (c == '.' && IsDigit(At(pos + 1)))) return Number(pos);
    if (IsIdStart(c)) return {TokenKind::kWord, IdCharsFrom(pos + 1) - pos};
    if (c == '?') return {TokenKind::kParameter, DigitsFrom(pos + 1) - pos};
    if (c == ':' || c == '@' || c == '$') return NamedParameter(pos);
    return Punctuation(pos);
  }

 private:
  size_t IdCharsFrom(size_t pos) const {
    while (pos < sql_.size() && IsIdChar(At(pos))) ++pos;
    return pos;
  }
  size_t DigitsFrom(size_t pos) const {
    while (pos < sql_.size() && IsDigit(At(pos))) ++pos;
    return pos;
  }

  // 'a''b', "a""b", `a``b`: a doubled quote is an escaped quote.
  Scan Quoted(size_t pos, char quote, TokenKind kind) const {
    size_t i = pos + 1;
    while (i < sql_.size()) {
      if (sql_[i] == quote) {
        if (At(i + 1) != static_cast<unsigned char>(quote)) return {kind, i + 1 - pos};
        i += 2;
      } else {
        ++i;
      }
    }
    return {TokenKind::kIllegal, sql_.size() - pos};
  }

  Scan Bracketed(size_t pos) const {
    size_t end = sql_.find(']', pos + 1);
    if (end == std::string_view::npos) return {TokenKind::kIllegal, sql_.size() - pos};
    return {TokenKind::kQuotedIdentifier, end + 1 - pos};
  }

  // x'..' needs an even number of hex digits; SQLite rejects anything else.
  Scan BlobLiteral(size_t pos) const {
    size_t i = pos + 2;
    while (i < sql_.size() && IsHex(At(i))) ++i;
    if (At(i) != '\'' || i >= sql_.size() || (i - pos - 2) % 2 != 0) {
      while (i < sql_.size() && sql_[i] != '\'') ++i;
      return {TokenKind::kIllegal, i < sql_.size() ? i + 1 - pos : sql_.size() - pos};
    }
    return {TokenKind::kBlob, i + 1 - pos};
  }

  Scan Number(size_t pos) const {
    size_t i = pos;
    if (At(i) == '0' && (At(i + 1) == 'x' || At(i + 1) == 'X') && IsHex(At(i + 2))) {
      i += 2;
      while (i < sql_.size() && IsHex(At(i))) ++i;
    } else {
      i = DigitsFrom(i);
      if (At(i) == '.') i = DigitsFrom(i + 1);
      bool exponent = At(i) == 'e' || At(i) == 'E';
      size_t digits_at = i + 1 + ((At(i + 1) == '+' || At(i + 1) == '-') ? 1 : 0);
      if (exponent && IsDigit(At(digits_at))) i = DigitsFrom(digits_at);
    }
    // 123abc is one illegal token in SQLite, not a number then a word.
    if (i < sql_.size() && IsIdChar(At(i))) return {TokenKind::kIllegal, IdCharsFrom(i) - pos};
    return {TokenKind::kNumber, i - pos};
  }

  Scan NamedParameter(size_t pos) const {
    size_t end = IdCharsFrom(pos + 1);
    if (end == pos + 1) return {TokenKind::kIllegal, 1};
    return {TokenKind::kParameter, end - pos};
  }

  Scan Punctuation(size_t pos) const {
    unsigned char c = At(pos);
    unsigned char d = At(pos + 1);
    switch (c) {
      case '(': return {TokenKind::kLeftParen, 1};
      case ')': return {TokenKind::kRightParen, 1};
      case ',': return {TokenKind::kComma, 1};
      case ';': return {TokenKind::kSemicolon, 1};
      case '.': return {TokenKind::kDot, 1};
      case '+': case '*': case '/': case '%': case '&': case '~':
        return {TokenKind::kOperator, 1};
      case '-':
        if (d == '>') return {TokenKind::kOperator, At(pos + 2) == '>' ? 3u : 2u};
        return {TokenKind::kOperator, 1};
      case '=': return {TokenKind::kOperator, d == '=' ? 2u : 1u};
      case '<': return {TokenKind::kOperator, (d == '=' || d == '>' || d == '<') ? 2u : 1u};
      case '>': return {TokenKind::kOperator, (d == '=' || d == '>') ? 2u : 1u};
      case '|': return {TokenKind::kOperator, d == '|' ? 2u : 1u};
      case '!':
        if (d == '=') return {TokenKind::kOperator, 2};
        return {TokenKind::kIllegal, 1};
      default: return {TokenKind::kIllegal, 1};
    }
  }

  std::string_view sql_;
};

}  // namespace

LexResult Lex(std::string_view sql) {
  RQ_ASSERT(sql.size() < (size_t{1} << 32));
  LexResult result;
  Scanner scanner(sql);
  size_t pos = scanner.SkipTrivia(0);
  while (pos < sql.size()) {
    Scan scan = scanner.Next(pos);
    RQ_ASSERT(scan.size > 0);
    RQ_ASSERT(pos + scan.size <= sql.size());
    if (scan.kind == TokenKind::kIllegal && result.error.empty()) {
      result.error = "unrecognized token: \"" + std::string(sql.substr(pos, scan.size)) + "\"";
    }
    result.tokens.push_back(Token{scan.kind, static_cast<uint32_t>(pos), static_cast<uint32_t>(scan.size)});
    pos = scanner.SkipTrivia(pos + scan.size);
  }
  return result;
}

bool WordIs(std::string_view text, std::string_view lower_keyword) {
  if (text.size() != lower_keyword.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_keyword[i]) return false;
  }
  return true;
}

std::string Unquote(std::string_view text) {
  if (text.size() < 2) return std::string(text);
  char open = text.front();
  char close = open == '[' ? ']' : open;
  if ((open != '\'' && open != '"' && open != '`' && open != '[') || text.back() != close) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size() - 2);
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    out.push_back(text[i]);
    // A doubled quote stands for one (brackets have no escape).
    if (open != '[' && text[i] == close && i + 2 < text.size() && text[i + 1] == close) ++i;
  }
  return out;
}

}  // namespace rq::command
