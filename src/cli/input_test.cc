#include "cli/input.h"

#include <gtest/gtest.h>

namespace rq::cli {
namespace {

using Statements = std::vector<std::string>;

TEST(DotCommandTest, NameIsLowerCasedAndArgsTrimmed) {
  std::optional<DotCommand> command = ParseDotCommand("  .DUMP   out.sql  foo,bar  ");
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->name, ".dump");
  EXPECT_EQ(command->args, "out.sql  foo,bar");
  EXPECT_EQ(command->Words(), (Statements{"out.sql", "foo,bar"}));
}

TEST(DotCommandTest, CommandWithoutArgsHasEmptyArgs) {
  std::optional<DotCommand> command = ParseDotCommand(".Tables");
  ASSERT_TRUE(command.has_value());
  EXPECT_EQ(command->name, ".tables");
  EXPECT_TRUE(command->args.empty());
  EXPECT_TRUE(command->Words().empty());
}

TEST(DotCommandTest, SqlIsNotADotCommand) {
  EXPECT_FALSE(ParseDotCommand("SELECT 1").has_value());
  EXPECT_FALSE(ParseDotCommand("   ").has_value());
}

TEST(DotCommandTest, QuitSpellingsAreCaseInsensitive) {
  EXPECT_TRUE(IsQuitCommand(".exit"));
  EXPECT_TRUE(IsQuitCommand(".QUIT"));
  EXPECT_TRUE(IsQuitCommand("quit"));
  EXPECT_TRUE(IsQuitCommand("  Exit  "));
  EXPECT_FALSE(IsQuitCommand(".exits"));
  EXPECT_FALSE(IsQuitCommand("SELECT exit FROM t"));
}

TEST(SqlSplitterTest, StatementWithoutSemicolonIsComplete) {
  SqlSplitter splitter;
  auto analysis = splitter.Analyze("CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)\n");
  EXPECT_TRUE(analysis.complete);
  EXPECT_EQ(analysis.statements, (Statements{"CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"}));
}

TEST(SqlSplitterTest, UnknownTableDoesNotMakeInputIncomplete) {
  SqlSplitter splitter;
  auto analysis = splitter.Analyze("INSERT INTO foo(name) VALUES(\"fiona\")\n");
  EXPECT_TRUE(analysis.complete);
  ASSERT_EQ(analysis.statements.size(), 1u);
}

TEST(SqlSplitterTest, OpenParenthesisWaitsForMoreLines) {
  SqlSplitter splitter;
  EXPECT_FALSE(splitter.Analyze("CREATE TABLE bar (\n").complete);
  EXPECT_FALSE(splitter.Analyze("CREATE TABLE bar (\n  id INTEGER,\n").complete);
  auto done = splitter.Analyze("CREATE TABLE bar (\n  id INTEGER,\n  name TEXT\n)\n");
  EXPECT_TRUE(done.complete);
  EXPECT_EQ(done.statements, (Statements{"CREATE TABLE bar (\n  id INTEGER,\n  name TEXT\n)"}));
}

TEST(SqlSplitterTest, DanglingClauseWaitsForMoreLines) {
  SqlSplitter splitter;
  EXPECT_FALSE(splitter.Analyze("SELECT *\nFROM foo\nWHERE\n").complete);
  EXPECT_TRUE(splitter.Analyze("SELECT *\nFROM foo\nWHERE id = 1\n").complete);
}

TEST(SqlSplitterTest, OpenStringOrCommentWaitsForMoreLines) {
  SqlSplitter splitter;
  EXPECT_FALSE(splitter.Analyze("INSERT INTO foo VALUES('abc\n").complete);
  EXPECT_FALSE(splitter.Analyze("SELECT 1 /* note\n").complete);
  EXPECT_TRUE(splitter.Analyze("INSERT INTO foo VALUES('abc\ndef')\n").complete);
}

TEST(SqlSplitterTest, TriggerBodyEndsOnlyAtEnd) {
  SqlSplitter splitter;
  std::string trigger = "CREATE TRIGGER t AFTER INSERT ON foo BEGIN\n  DELETE FROM bar;\n";
  EXPECT_FALSE(splitter.Analyze(trigger).complete);
  auto done = splitter.Analyze(trigger + "END;\n");
  EXPECT_TRUE(done.complete);
  EXPECT_EQ(done.statements.size(), 1u);
}

TEST(SqlSplitterTest, SemicolonsSplitStatementsButNotInsideStrings) {
  SqlSplitter splitter;
  auto analysis = splitter.Analyze("INSERT INTO foo VALUES('a;b'); SELECT 1;  SELECT 2\n");
  EXPECT_TRUE(analysis.complete);
  EXPECT_EQ(analysis.statements, (Statements{"INSERT INTO foo VALUES('a;b');", "SELECT 1;", "SELECT 2"}));
}

TEST(SqlSplitterTest, CommentsAndBareSemicolonsAreNoStatements) {
  SqlSplitter splitter;
  auto analysis = splitter.Analyze("-- just a note\n;;\n");
  EXPECT_TRUE(analysis.complete);
  EXPECT_TRUE(analysis.statements.empty());
}

TEST(SqlSplitterTest, SyntaxErrorIsSentNotBuffered) {
  SqlSplitter splitter;
  auto analysis = splitter.Analyze("SELEC 1\n");
  EXPECT_TRUE(analysis.complete);
  EXPECT_EQ(analysis.statements, (Statements{"SELEC 1"}));
}

}  // namespace
}  // namespace rq::cli
