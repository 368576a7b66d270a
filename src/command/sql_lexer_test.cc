// command/sql_lexer.h: SQLite's lexical rules, edge cases and bad input.
#include "command/sql_lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/random.h"

namespace rq::command {
namespace {

// "kind:text" for every token, for compact expectations.
std::vector<std::string> Describe(std::string_view sql) {
  static const char* kNames[] = {"word", "qid", "str", "blob", "num", "param", "(",
                                 ")",    ",",   ";",   ".",    "op",  "ILLEGAL"};
  std::vector<std::string> out;
  for (const Token& token : Lex(sql).tokens) {
    out.push_back(std::string(kNames[static_cast<int>(token.kind)]) + ":" + std::string(token.Text(sql)));
  }
  return out;
}

using V = std::vector<std::string>;

TEST(SqlLexerTest, SplitsWordsPunctuationAndNumbers) {
  EXPECT_EQ(Describe("SELECT a.b, 12 FROM t;"),
            (V{"word:SELECT", "word:a", ".:.", "word:b", ",:,", "num:12", "word:FROM", "word:t", ";:;"}));
}

TEST(SqlLexerTest, StringWithDoubledQuoteIsOneToken) {
  EXPECT_EQ(Describe("'it''s random()'"), (V{"str:'it''s random()'"}));
  EXPECT_EQ(Unquote("'it''s'"), "it's");
}

TEST(SqlLexerTest, QuotedIdentifiersInAllThreeStyles) {
  EXPECT_EQ(Describe(R"("a ""b""" [c d] `e``f`)"), (V{R"(qid:"a ""b""")", "qid:[c d]", "qid:`e``f`"}));
  EXPECT_EQ(Unquote(R"("a ""b""")"), R"(a "b")");
  EXPECT_EQ(Unquote("[c d]"), "c d");
  EXPECT_EQ(Unquote("`e``f`"), "e`f");
}

TEST(SqlLexerTest, BracketIdentifierHasNoEscape) {
  EXPECT_EQ(Describe("[a]]"), (V{"qid:[a]", "ILLEGAL:]"}));
}

TEST(SqlLexerTest, BlobLiterals) {
  EXPECT_EQ(Describe("x'00ff' X'AB' x''"), (V{"blob:x'00ff'", "blob:X'AB'", "blob:x''"}));
  EXPECT_EQ(Describe("x'abc'"), (V{"ILLEGAL:x'abc'"}));  // odd digit count
  EXPECT_EQ(Describe("x'zz' 1"), (V{"ILLEGAL:x'zz'", "num:1"}));
  EXPECT_EQ(Describe("x 'a'"), (V{"word:x", "str:'a'"}));
}

TEST(SqlLexerTest, CommentsAreSkipped) {
  EXPECT_EQ(Describe("a -- random()\nb /* random() */ c"), (V{"word:a", "word:b", "word:c"}));
  EXPECT_EQ(Describe("a --"), (V{"word:a"}));
}

TEST(SqlLexerTest, UnterminatedBlockCommentRunsToEnd) {
  LexResult lexed = Lex("SELECT 1 /* open");
  EXPECT_EQ(lexed.tokens.size(), 2u);
  EXPECT_TRUE(lexed.error.empty());
}

TEST(SqlLexerTest, NumberForms) {
  EXPECT_EQ(Describe("1 1.5 .5 1. 1e10 1.5E-3 0x1F 0XaB"),
            (V{"num:1", "num:1.5", "num:.5", "num:1.", "num:1e10", "num:1.5E-3", "num:0x1F", "num:0XaB"}));
}

TEST(SqlLexerTest, NumberGluedToWordIsIllegal) {
  EXPECT_EQ(Describe("123abc"), (V{"ILLEGAL:123abc"}));
  EXPECT_EQ(Describe("1e"), (V{"ILLEGAL:1e"}));
  EXPECT_EQ(Describe("0x"), (V{"ILLEGAL:0x"}));
}

TEST(SqlLexerTest, ParameterForms) {
  EXPECT_EQ(Describe("? ?12 :name @n $v"),
            (V{"param:?", "param:?12", "param::name", "param:@n", "param:$v"}));
  EXPECT_EQ(Describe(": x"), (V{"ILLEGAL::", "word:x"}));
}

TEST(SqlLexerTest, MultiByteOperators) {
  EXPECT_EQ(Describe("a||b<=c<>d!=e==f->g->>h<<1>>2>=3"),
            (V{"word:a", "op:||", "word:b", "op:<=", "word:c", "op:<>", "word:d", "op:!=", "word:e",
               "op:==", "word:f", "op:->", "word:g", "op:->>", "word:h", "op:<<", "num:1", "op:>>",
               "num:2", "op:>=", "num:3"}));
}

TEST(SqlLexerTest, MinusMinusIsACommentNotTwoMinuses) {
  EXPECT_EQ(Describe("5--3"), (V{"num:5"}));
  EXPECT_EQ(Describe("5- -3"), (V{"num:5", "op:-", "op:-", "num:3"}));
}

TEST(SqlLexerTest, IdentifiersAllowDollarAndUtf8) {
  EXPECT_EQ(Describe("a$b _x \xc3\xa9t\xc3\xa9"), (V{"word:a$b", "word:_x", "word:\xc3\xa9t\xc3\xa9"}));
}

TEST(SqlLexerTest, UnterminatedStringIsIllegalToEnd) {
  LexResult lexed = Lex("SELECT 'abc");
  ASSERT_EQ(lexed.tokens.size(), 2u);
  EXPECT_EQ(lexed.tokens[1].kind, TokenKind::kIllegal);
  EXPECT_EQ(lexed.error, "unrecognized token: \"'abc\"");
}

TEST(SqlLexerTest, UnterminatedIdentifiersAreIllegal) {
  for (std::string_view sql : {"\"abc", "[abc", "`abc", "x'00"}) {
    LexResult lexed = Lex(sql);
    ASSERT_EQ(lexed.tokens.size(), 1u) << sql;
    EXPECT_EQ(lexed.tokens[0].kind, TokenKind::kIllegal) << sql;
    EXPECT_FALSE(lexed.error.empty());
  }
}

TEST(SqlLexerTest, StrayBytesAreIllegalAndReportedOnce) {
  LexResult lexed = Lex("SELECT # ! \\");
  EXPECT_EQ(lexed.error, "unrecognized token: \"#\"");
  EXPECT_EQ(lexed.tokens.size(), 4u);
}

TEST(SqlLexerTest, EmptyAndWhitespaceOnlyGiveNoTokens) {
  EXPECT_TRUE(Lex("").tokens.empty());
  EXPECT_TRUE(Lex(" \t\r\n\f ").tokens.empty());
}

TEST(SqlLexerTest, WordIsIgnoresAsciiCase) {
  EXPECT_TRUE(WordIs("RaNdOm", "random"));
  EXPECT_FALSE(WordIs("randoms", "random"));
  EXPECT_FALSE(WordIs("rand", "random"));
}

// Every byte is covered by trivia or exactly one token, in order.
TEST(SqlLexerTest, TokensTileTheInputOnRandomBytes) {
  Random random(3);
  const std::string alphabet = "ab x'\"`[]()-/*;,.:?@$0123456789eE \n\xc3";
  for (int round = 0; round < 3000; ++round) {
    std::string sql;
    for (uint64_t n = random.Uniform(40); n > 0; --n) sql.push_back(alphabet[random.Uniform(alphabet.size())]);
    LexResult lexed = Lex(sql);
    size_t end = 0;
    for (const Token& token : lexed.tokens) {
      ASSERT_GE(token.offset, end) << sql;
      ASSERT_GT(token.size, 0u);
      end = token.offset + token.size;
      ASSERT_LE(end, sql.size());
    }
  }
}

}  // namespace
}  // namespace rq::command
