// Change capture through Database: what the pre-update hook saw and SQLite
// kept, and nothing a failed statement or a rollback undid.
#include "base/test_dir.h"
#include "db/database.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

namespace rq::db {
namespace {

using command::Blob;
using command::Request;
using command::RowChange;
using command::RowOp;
using command::Statement;
using command::Value;

Request Req(std::vector<std::string> sqls, bool transaction = false) {
  Request r;
  for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
  r.transaction = transaction;
  return r;
}

class ChangeCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("capture_test");
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(ChangeCaptureOptions capture = {}) {
    capture.enabled = true;
    Options options;
    options.capture = std::move(capture);
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / "db.sqlite").string(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // Runs the writes, then returns what was captured.
  std::vector<RowChange> Run(std::vector<std::string> sqls, bool transaction = false) {
    db_->Execute(Req(std::move(sqls), transaction));
    return db_->TakeChanges();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(ChangeCaptureTest, InsertUpdateDeleteCarryRowIdsColumnsAndValues) {
  Open();
  ASSERT_TRUE(Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT, score REAL, pic BLOB)"}).empty());
  std::vector<RowChange> rows = Run({"INSERT INTO foo(id, name, score, pic) VALUES(7, 'fiona', 2.5, x'0102')",
                                     "UPDATE foo SET name = 'declan' WHERE id = 7", "DELETE FROM foo WHERE id = 7"});
  ASSERT_EQ(rows.size(), 3u);
  const std::vector<std::string> columns{"id", "name", "score", "pic"};
  EXPECT_EQ(rows[0].op, RowOp::kInsert);
  EXPECT_EQ(rows[0].table, "foo");
  EXPECT_EQ(rows[0].new_row_id, 7);
  EXPECT_EQ(rows[0].old_row_id, 0);
  EXPECT_EQ(rows[0].columns, columns);
  EXPECT_TRUE(rows[0].before.empty());
  EXPECT_EQ(rows[0].after, (std::vector<Value>{int64_t{7}, std::string("fiona"), 2.5, Blob{"\x01\x02"}}));
  EXPECT_EQ(rows[1].op, RowOp::kUpdate);
  EXPECT_EQ(rows[1].old_row_id, 7);
  EXPECT_EQ(rows[1].new_row_id, 7);
  EXPECT_EQ(std::get<std::string>(rows[1].before[1]), "fiona");
  EXPECT_EQ(std::get<std::string>(rows[1].after[1]), "declan");
  EXPECT_EQ(rows[2].op, RowOp::kDelete);
  EXPECT_EQ(rows[2].old_row_id, 7);
  EXPECT_TRUE(rows[2].after.empty());
  EXPECT_EQ(rows[2].before.size(), 4u);
  EXPECT_TRUE(db_->TakeChanges().empty()) << "taken once";
}

TEST_F(ChangeCaptureTest, FailedStatementKeepsNothingOfItsRows) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT UNIQUE)", "INSERT INTO foo VALUES(1, 'a')"});
  // The second row of this INSERT conflicts: SQLite undoes the first too.
  std::vector<RowChange> rows = Run({"INSERT INTO foo VALUES(2, 'b'), (3, 'a')", "INSERT INTO foo VALUES(4, 'd')"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].new_row_id, 4);
}

TEST_F(ChangeCaptureTest, BatchedStatementsDropOnlyTheFailedOne) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"});
  // Plain DML without ?transaction runs as one SQLite transaction
  // (Database::RunBatched); the failed statement undoes only itself.
  std::vector<RowChange> rows =
      Run({"INSERT INTO foo VALUES(1, 'a')", "INSERT INTO foo VALUES(2, 'a')", "INSERT INTO foo VALUES(3, 'c')"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].new_row_id, 1);
  EXPECT_EQ(rows[1].new_row_id, 3);
}

TEST_F(ChangeCaptureTest, RolledBackTransactionKeepsNothing) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"});
  EXPECT_TRUE(Run({"INSERT INTO foo VALUES(1, 'a')", "INSERT INTO foo VALUES(2, 'a')"}, true).empty());
  EXPECT_TRUE(Run({"BEGIN", "INSERT INTO foo VALUES(5, 'e')", "ROLLBACK"}).empty());
  // A ROLLBACK conflict clause ends the batch's transaction; the request is
  // then run statement by statement, and only what that kept is reported.
  std::vector<RowChange> rows = Run({"INSERT INTO foo VALUES(1, 'a')", "INSERT OR ROLLBACK INTO foo VALUES(2, 'a')",
                                     "INSERT INTO foo VALUES(3, 'c')"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].new_row_id, 1);
  EXPECT_EQ(rows[1].new_row_id, 3);
}

TEST_F(ChangeCaptureTest, TriggersAndReplaceAreRowsToo) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT UNIQUE)", "CREATE TABLE log (what TEXT)",
       "CREATE TRIGGER t AFTER INSERT ON foo BEGIN INSERT INTO log VALUES(new.name); END",
       "INSERT INTO foo VALUES(1, 'a')"});
  std::vector<RowChange> rows = Run({"REPLACE INTO foo VALUES(2, 'a')"});
  std::vector<std::pair<std::string, RowOp>> seen;
  for (const RowChange& row : rows) seen.emplace_back(row.table, row.op);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, RowOp>>{
                      {"foo", RowOp::kDelete}, {"foo", RowOp::kInsert}, {"log", RowOp::kInsert}}));
}

TEST_F(ChangeCaptureTest, TableFilterAndRowIdsOnly) {
  const std::regex only_foo("^foo$");
  ChangeCaptureOptions capture;
  capture.table_filter = [only_foo](std::string_view table) { return std::regex_search(std::string(table), only_foo); };
  capture.row_ids_only = true;
  Open(capture);
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "CREATE TABLE food (id INTEGER PRIMARY KEY)",
       "CREATE TEMP TABLE scratch (x)"});
  std::vector<RowChange> rows = Run({"INSERT INTO food VALUES(1)", "INSERT INTO foo VALUES(9, 'z')",
                                     "INSERT INTO scratch VALUES(1)"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].table, "foo");
  EXPECT_EQ(rows[0].new_row_id, 9);
  EXPECT_TRUE(rows[0].columns.empty());
  EXPECT_TRUE(rows[0].after.empty());
}

TEST_F(ChangeCaptureTest, ColumnNamesFollowSchemaChanges) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY)", "INSERT INTO foo VALUES(1)"});
  Run({"ALTER TABLE foo ADD COLUMN name TEXT"});
  std::vector<RowChange> rows = Run({"INSERT INTO foo VALUES(2, 'b')"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(rows[0].after.size(), 2u);
}

TEST_F(ChangeCaptureTest, LoadDumpIsCapturedAndAFailedDumpIsNot) {
  Open();
  db_->LoadDump("CREATE TABLE foo (id INTEGER PRIMARY KEY); INSERT INTO foo VALUES(1); INSERT INTO foo VALUES(2);");
  EXPECT_EQ(db_->TakeChanges().size(), 2u);
  db_->LoadDump("INSERT INTO foo VALUES(3); INSERT INTO foo VALUES(1);");
  EXPECT_TRUE(db_->TakeChanges().empty());
}

TEST_F(ChangeCaptureTest, RollbackToASavepointDropsItsRows) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY)"});
  std::vector<RowChange> rows =
      Run({"SAVEPOINT a", "INSERT INTO foo VALUES(1)", "SAVEPOINT \"B\"", "INSERT INTO foo VALUES(2)",
           "ROLLBACK TRANSACTION TO SAVEPOINT b", "INSERT INTO foo VALUES(3)", "RELEASE a"});
  std::vector<int64_t> ids;
  for (const RowChange& row : rows) ids.push_back(row.new_row_id);
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 3}));
  // Inside BEGIN, and two statements in one string.
  rows = Run({"BEGIN", "SAVEPOINT s; INSERT INTO foo VALUES(4); ROLLBACK TO s", "INSERT INTO foo VALUES(5)", "COMMIT"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].new_row_id, 5);
}

TEST_F(ChangeCaptureTest, AutocommitOrFailKeepsWhatSqliteCommitted) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY)", "INSERT INTO foo VALUES(2)"});
  // Row 1 goes in, row 2 conflicts: FAIL keeps row 1, and so does SQLite.
  std::vector<RowChange> rows = Run({"INSERT OR FAIL INTO foo VALUES(1), (2), (3)"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].new_row_id, 1);
}

TEST_F(ChangeCaptureTest, ColumnsAreNamedByTheSchemaTheStatementRanAgainst) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, a TEXT)"});
  std::vector<RowChange> rows =
      Run({"INSERT INTO foo VALUES(1, 'x')", "ALTER TABLE foo RENAME COLUMN a TO b", "INSERT INTO foo VALUES(2, 'y')"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].columns, (std::vector<std::string>{"id", "a"}));
  EXPECT_EQ(rows[1].columns, (std::vector<std::string>{"id", "b"}));
}

TEST_F(ChangeCaptureTest, OneHugeWriteIsBoundedAndSaysWhatItLeftOut) {
  ChangeCaptureOptions capture;
  capture.value_bytes_max = 4096;
  capture.rows_max = 50;
  Open(capture);
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)"});
  std::vector<RowChange> rows = Run(
      {"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 80) "
       "INSERT INTO foo SELECT x, printf('%.200c', 'v') FROM c"});
  ASSERT_EQ(rows.size(), 50u);
  EXPECT_FALSE(rows.front().after.empty()) << "the first rows keep their values";
  EXPECT_TRUE(rows[40].after.empty()) << "past the byte limit, ids only";
  EXPECT_NE(rows[40].error.find("values left out"), std::string::npos);
  EXPECT_EQ(rows[40].new_row_id, 41);
  EXPECT_NE(rows.back().error.find("30 more rows"), std::string::npos) << rows.back().error;
  // The next write starts afresh.
  rows = Run({"INSERT INTO foo VALUES(1000, 'z')"});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].error.empty());
  EXPECT_FALSE(rows[0].after.empty());
}

TEST_F(ChangeCaptureTest, SqliteTablesAndMaintenanceAreNotChanges) {
  Open();
  Run({"CREATE TABLE foo (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)", "CREATE INDEX foo_v ON foo(v)"});
  std::vector<RowChange> rows = Run({"INSERT INTO foo(v) VALUES('a')", "ANALYZE"});
  ASSERT_EQ(rows.size(), 1u) << "sqlite_sequence and sqlite_stat1 are SQLite's";
  EXPECT_EQ(rows[0].table, "foo");
  ASSERT_TRUE(db_->Maintain("PRAGMA optimize").ok());
  EXPECT_TRUE(db_->TakeChanges().empty());
}

TEST(ChangeCaptureOffTest, NothingIsCapturedByDefault) {
  const auto dir = std::filesystem::temp_directory_path() / ("capture_off_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    Result<std::unique_ptr<Database>> db = Database::Open((dir / "db.sqlite").string(), Options{});
    ASSERT_TRUE(db.ok());
    (*db)->Execute(Req({"CREATE TABLE t (x)", "INSERT INTO t VALUES(1)"}));
    EXPECT_TRUE((*db)->TakeChanges().empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rq::db
