// SqlLexer: splits SQL text into tokens by SQLite's lexical rules
// (tokenize.c), enough for the processor to find function calls, keywords
// and clause boundaries without a parser. Whitespace and comments are
// skipped; every other byte belongs to exactly one token, so replacing a
// token's byte range never touches a string, identifier or comment.
//
// Tokens point into the input by offset: the input must outlive their use.
// Lexing never fails: bytes SQLite would reject become kIllegal tokens, and
// the first one is described in LexResult::error (SQLite's wording).
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rq::command {

enum class TokenKind : uint8_t {
  kWord,              // bare identifier or keyword: abc, SELECT, _x1
  kQuotedIdentifier,  // "a ""b""", [a b], `a b`
  kString,            // 'it''s'
  kBlob,              // x'00ff'
  kNumber,            // 12, 1.5e3, .5, 0x1F
  kParameter,         // ?, ?12, :name, @name, $name
  kLeftParen,
  kRightParen,
  kComma,
  kSemicolon,
  kDot,
  kOperator,          // + - * / % = == < <= <> << > >= >> != & | || ~ -> ->>
  kIllegal,           // unterminated literal, stray byte, 123abc
};

struct Token {
  TokenKind kind;
  uint32_t offset;  // into the lexed text
  uint32_t size;    // bytes; > 0
  std::string_view Text(std::string_view sql) const { return sql.substr(offset, size); }
};

struct LexResult {
  std::vector<Token> tokens;
  std::string error;  // empty, or e.g. `unrecognized token: "'abc"` for the first kIllegal
};

// REQUIRES: sql.size() < 4 GiB (offsets are 32-bit; HTTP bodies are far smaller).
LexResult Lex(std::string_view sql);

// Case-insensitive ASCII comparison of a word token with a lower-case keyword.
bool WordIs(std::string_view text, std::string_view lower_keyword);

// The value of a kString token ('it''s' -> it's) or kQuotedIdentifier token.
std::string Unquote(std::string_view token_text);

}  // namespace rq::command
