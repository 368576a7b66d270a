#include "db/sql_guard.h"

#include <gtest/gtest.h>

#include "base/random.h"
#include "db/allowed_texts.h"

namespace rq::db {
namespace {

// Every spelling of the four disallowed PRAGMAs; shared with database_test
// through the same list style.
const char* const kDisallowedSpellings[] = {
    "PRAGMA journal_mode=DELETE",
    "pragma journal_mode = wal",
    "PrAgMa JOURNAL_MODE",
    "PRAGMA   journal_mode\n=\tdelete",
    "PRAGMA main.journal_mode=DELETE",
    "PRAGMA main . journal_mode = DELETE",
    "PRAGMA \"main\".\"journal_mode\"=DELETE",
    "PRAGMA [journal_mode]",
    "PRAGMA `journal_mode`",
    "PRAGMA 'journal_mode'",
    "PRAGMA journal_mode(DELETE)",
    "PRAGMA wal_checkpoint",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "PRAGMA main.wal_checkpoint(FULL)",
    "PRAGMA wal_autocheckpoint=1000",
    "PRAGMA WAL_AUTOCHECKPOINT = 0",
    "PRAGMA synchronous=FULL",
    "PRAGMA synchronous",
    "PRAGMA temp.synchronous=0",
    "/* c */ PRAGMA /* c */ synchronous -- c\n = 2",
    "SELECT 1; PRAGMA synchronous=FULL",
    "SELECT * FROM pragma_journal_mode()",
    "SELECT * FROM pragma_journal_mode",
    "select * from main.pragma_synchronous()",
    "SELECT * FROM \"PRAGMA_JOURNAL_MODE\"",
};

TEST(SqlGuardTest, EveryDisallowedPragmaSpellingIsRefused) {
  for (const char* sql : kDisallowedSpellings) {
    Status s = CheckTokens(sql);
    EXPECT_TRUE(s.IsInvalidArgument()) << sql;
    EXPECT_EQ(s.message(), kDisallowedPragma) << sql;
  }
}

TEST(SqlGuardTest, OtherPragmasAndLookalikesPass) {
  const char* const allowed[] = {
      "PRAGMA foreign_keys=ON",
      "PRAGMA table_info(foo)",
      "PRAGMA user_version",
      "SELECT 'PRAGMA journal_mode=DELETE'",
      "INSERT INTO t VALUES('pragma synchronous')",
      "SELECT journal_mode FROM t",
      "CREATE TABLE synchronous(x)",
      "-- PRAGMA journal_mode=DELETE\nSELECT 1",
      "SELECT * FROM pragma_table_info('t')",
      "VACUUM",
      "VACUUM main",
      "SELECT attach FROM t",
      "INSERT INTO vacuum VALUES(1)",
  };
  for (const char* sql : allowed) EXPECT_TRUE(CheckTokens(sql).ok()) << sql;
}

TEST(SqlGuardTest, AttachDetachAndVacuumIntoAreRefused) {
  struct Case {
    const char* sql;
    std::string_view message;
  };
  const Case cases[] = {
      {"ATTACH DATABASE 'x.db' AS x", kAttachRefused},
      {"attach 'x.db' as x", kAttachRefused},
      {"SELECT 1; ATTACH 'x.db' AS x", kAttachRefused},
      {"DETACH DATABASE x", kDetachRefused},
      {"detach x", kDetachRefused},
      {"VACUUM INTO '/tmp/x.db'", kVacuumIntoRefused},
      {"vacuum main into 'x.db'", kVacuumIntoRefused},
      {"VACUUM \"main\" INTO 'x.db'", kVacuumIntoRefused},
  };
  for (const Case& c : cases) {
    Status s = CheckTokens(c.sql);
    EXPECT_TRUE(s.IsInvalidArgument()) << c.sql;
    EXPECT_EQ(s.message(), c.message) << c.sql;
  }
}

TEST(SqlGuardTest, PragmaNamesMatchInAnyCase) {
  EXPECT_TRUE(IsDisallowedPragmaName("Journal_Mode"));
  EXPECT_TRUE(IsDisallowedPragmaName("SYNCHRONOUS"));
  EXPECT_FALSE(IsDisallowedPragmaName("journal_size_limit"));
  EXPECT_FALSE(IsDisallowedPragmaName("synchronous2"));
}

// Random SQL-ish noise never crashes the scanner, and a disallowed PRAGMA
// after a statement terminator is still refused whatever garbage precedes it, as long
// as the garbage closes its quotes and comments.
TEST(SqlGuardTest, RandomPrefixesNeverHideAPragma) {
  const char* const pieces[] = {"SELECT", " ", "'a''b'", "\"q\"", "[x]", "`y`", "--c\n", "/*c*/", "(", ")",
                                ",",      "1", "pragma", "main", ".",     "synchronous_x", "vacuum", "into",
                                "\n",     "é", "$v",     ":n",   "?"};
  Random random(42);
  for (int i = 0; i < 2000; ++i) {
    std::string sql;
    const uint64_t n = random.Range(0, 20);
    for (uint64_t j = 0; j < n; ++j) sql += pieces[random.Uniform(std::size(pieces))];
    (void)CheckTokens(sql);  // must not crash on anything
    std::string raw;
    for (uint64_t j = 0; j < n; ++j) raw += static_cast<char>(random.Uniform(256));
    (void)CheckTokens(raw);
    const std::string hidden = sql + ";\nPRAGMA journal_mode=OFF";
    // Refused (the noise may itself spell VACUUM INTO, which is refused too).
    EXPECT_TRUE(CheckTokens(hidden).IsInvalidArgument()) << hidden;
  }
}

TEST(AllowedTextsTest, RemembersUnderOneGenerationAndForgetsWhenItMoves) {
  AllowedTexts texts;
  const std::vector<std::string_view> insert = {"INSERT INTO t VALUES(1)"};
  const std::vector<std::string_view> both = {"INSERT INTO t VALUES(1)", "DELETE FROM t"};
  EXPECT_FALSE(texts.AllKnown(insert, 0));
  texts.Remember(insert, 0);
  EXPECT_TRUE(texts.AllKnown(insert, 0));
  EXPECT_FALSE(texts.AllKnown(both, 0));  // every text, not some
  texts.Remember(both, 0);
  EXPECT_TRUE(texts.AllKnown(both, 0));
  // The schema moved: nothing checked before counts.
  EXPECT_FALSE(texts.AllKnown(insert, 1));
  EXPECT_FALSE(texts.AllKnown(insert, 0));
  // A check that began before the move is not remembered after it.
  texts.Remember(insert, 0);
  EXPECT_FALSE(texts.AllKnown(insert, 1));
  texts.Remember(insert, 1);
  EXPECT_TRUE(texts.AllKnown(insert, 1));
}

TEST(AllowedTextsTest, MemoryIsBounded) {
  AllowedTexts texts;
  const std::string huge(AllowedTexts::kTextBytesMax + 1, 'x');
  const std::vector<std::string_view> big = {huge};
  texts.Remember(big, 0);
  EXPECT_FALSE(texts.AllKnown(big, 0));
  std::vector<std::string> many;
  for (size_t i = 0; i <= AllowedTexts::kTextsMax; ++i) many.push_back("INSERT INTO t VALUES(" + std::to_string(i) + ")");
  for (const std::string& text : many) texts.Remember(std::vector<std::string_view>{text}, 0);
  // Full, so cleared and started again: the last is known, the first not.
  EXPECT_TRUE(texts.AllKnown(std::vector<std::string_view>{many.back()}, 0));
  EXPECT_FALSE(texts.AllKnown(std::vector<std::string_view>{many.front()}, 0));
}

}  // namespace
}  // namespace rq::db
