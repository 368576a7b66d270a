// The processor's output checked by SQLite itself: rewritten literals mean
// what the original calls meant, replicas agree, and rewriting never turns
// valid SQL invalid (or the reverse).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "command/sql_processor.h"

namespace rq::command {
namespace {

// An in-memory database with one table; closes itself.
class Db {
 public:
  Db() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    EXPECT_TRUE(Exec("CREATE TABLE t(a, b)"));
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  bool Exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK; }

  // The first column of every row, as text ("NULL" for NULL).
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out.push_back(text == nullptr ? "NULL" : reinterpret_cast<const char*>(text));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string Rewrite(const std::string& sql, WallTime now, uint64_t seed = 1) {
  Random random(seed);
  Result<ProcessedSql> out = ProcessSql(sql, {}, random, now);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? out->sql : sql;
}

const WallTime kNoonQuarter = WallTime(std::chrono::milliseconds(1767268800250));  // 2026-01-01 12:00:00.250

TEST(SqlProcessorSqliteTest, RewrittenNowMeansTheInjectedInstant) {
  Db db;
  struct {
    const char* sql;
    const char* value;
  } cases[] = {
      {"SELECT datetime('now')", "2026-01-01 12:00:00"},
      {"SELECT date('now')", "2026-01-01"},
      {"SELECT time('now')", "12:00:00"},
      {"SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')", "2026-01-01 12:00:00.250"},
      {"SELECT strftime('%s')", "1767268800"},
      {"SELECT datetime()", "2026-01-01 12:00:00"},
      {"SELECT datetime('now', '+1 day')", "2026-01-02 12:00:00"},
      {"SELECT unixepoch('now')", "1767268800"},
  };
  for (const auto& c : cases) {
    std::string rewritten = Rewrite(c.sql, kNoonQuarter);
    ASSERT_NE(rewritten, c.sql);
    EXPECT_EQ(db.Column(rewritten), std::vector<std::string>{c.value}) << rewritten;
  }
}

TEST(SqlProcessorSqliteTest, ReplicasApplyingTheRewriteAgree) {
  const std::string sql =
      "INSERT INTO t VALUES(random(), randomblob(16)); INSERT INTO t VALUES(datetime('now'), hex(randomblob(3)))";
  std::string rewritten = Rewrite(sql, kNoonQuarter);
  Db first, second;
  ASSERT_TRUE(first.Exec(rewritten));
  ASSERT_TRUE(second.Exec(rewritten));
  const std::string dump = "SELECT quote(a) || ',' || quote(b) FROM t ORDER BY rowid";
  EXPECT_EQ(first.Column(dump), second.Column(dump));
  EXPECT_EQ(first.Column("SELECT typeof(a) || typeof(b) FROM t ORDER BY rowid"),
            (std::vector<std::string>{"integerblob", "texttext"}));
  EXPECT_EQ(first.Column("SELECT length(b) FROM t WHERE rowid = 1"), std::vector<std::string>{"16"});
}

TEST(SqlProcessorSqliteTest, RewritingNeverChangesWhetherSqlIsValid) {
  const std::vector<std::string> fragments = {
      "SELECT ", "random()", "RANDOM( )", "randomblob(", "3", ")", "(", ",", "date(", "'now'",
      "strftime('%s'", "timediff(", "datetime()", " ORDER BY ", " LIMIT ", " AS x", "a", " FROM t",
      "1", "'s'", " + ", "--c\n", "/*c*/", ";", "x'01'", "abs(", " WHERE ", "b", "julianday("};
  Random random(5);
  int valid = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string sql = "SELECT ";
    for (uint64_t n = random.Range(1, 10); n > 0; --n) sql += fragments[random.Uniform(fragments.size())];
    std::string rewritten = Rewrite(sql, kNoonQuarter, round);
    Db original_db, rewritten_db;
    bool original_ok = original_db.Exec(sql);
    EXPECT_EQ(original_ok, rewritten_db.Exec(rewritten)) << sql << "\n" << rewritten;
    valid += original_ok ? 1 : 0;
  }
  EXPECT_GT(valid, 100);  // the generator must produce a fair share of valid SQL
}

}  // namespace
}  // namespace rq::command
