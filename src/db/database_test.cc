#include "base/test_dir.h"
#include "db/database.h"
#include "db/render.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

namespace rq::db {
namespace {

using command::Blob;
using command::Parameter;
using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;
using command::Value;

// A fresh directory per test, removed afterwards.
class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("db_test");
    db_ = OpenAt(Path("db.sqlite"));
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::unique_ptr<Database> OpenAt(const std::string& path, Options options = {}) {
    Result<std::unique_ptr<Database>> db = Database::Open(path, options);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static Request Req(std::vector<std::string> sqls, bool transaction = false) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    r.transaction = transaction;
    return r;
  }

  // Runs writes and asserts none failed.
  void MustExecute(std::vector<std::string> sqls) {
    Response r = db_->Execute(Req(std::move(sqls)));
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const StatementResult& s : r.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }

  StatementResult QueryOne(const std::string& sql) {
    Response r = db_->Query(Req({sql}));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.results.size(), 1u);
    return r.results.empty() ? StatementResult{} : r.results[0];
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

using Row = std::vector<Value>;

TEST_F(DatabaseTest, CreateThenInsertReportsCountsLikeRqlite) {
  Response r = db_->Execute(Req({"CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)",
                                 "INSERT INTO foo(name) VALUES('fiona')"}));
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_FALSE(r.results[0].has_rows);
  EXPECT_EQ(r.results[0].last_insert_id, 0);
  EXPECT_EQ(r.results[0].rows_affected, 0);
  EXPECT_EQ(r.results[1].last_insert_id, 1);
  EXPECT_EQ(r.results[1].rows_affected, 1);
  EXPECT_GT(r.results[1].time_s, 0.0);
  EXPECT_GT(r.time_s, 0.0);

  StatementResult q = QueryOne("SELECT * FROM foo");
  EXPECT_TRUE(q.has_rows);
  EXPECT_EQ(q.columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(q.types, (std::vector<std::string>{"integer", "text"}));
  EXPECT_EQ(q.values, (std::vector<Row>{{int64_t{1}, std::string("fiona")}}));
}

TEST_F(DatabaseTest, PerStatementErrorsCarrySqliteTextAndOthersStillRun) {
  Response r = db_->Execute(Req({"INSERT INTO bar VALUES(1)", "blah", "CREATE TABLE t(x)", "INSERT INTO t VALUES(1)"}));
  ASSERT_EQ(r.results.size(), 4u);
  EXPECT_EQ(r.results[0].error, "no such table: bar");
  EXPECT_EQ(r.results[1].error, "near \"blah\": syntax error");
  EXPECT_TRUE(r.results[2].error.empty());
  EXPECT_EQ(r.results[3].rows_affected, 1);
}

TEST_F(DatabaseTest, EmptyQueryHasColumnsButNoValues) {
  MustExecute({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)"});
  StatementResult q = QueryOne("SELECT * FROM foo");
  EXPECT_TRUE(q.has_rows);
  EXPECT_EQ(q.columns.size(), 2u);
  EXPECT_EQ(q.types, (std::vector<std::string>{"integer", "text"}));
  EXPECT_TRUE(q.values.empty());
}

TEST_F(DatabaseTest, ValuesRenderPerDeclaredType) {
  MustExecute({"CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n TEXT, vc VARCHAR(10), bl BOOLEAN, "
               "d DATE, dt DATETIME, ts TIMESTAMP, x ANYTHING)",
               "INSERT INTO v VALUES(7, 1.5, 'hi', X'DEADBEEF', NULL, X'6869', 1, '2020-01-01', "
               "'2020-01-01 10:00:00', 1577872800, X'00')",
               "INSERT INTO v VALUES(-3, 2.0, '', X'', NULL, 'plain', 0, 'garbage', 1577872800123, "
               "'2020-01-01T10:00:00+02:00', 3)",
               "INSERT INTO v(bl, d) VALUES(-5, 1.25)"});
  StatementResult q = QueryOne("SELECT * FROM v");
  EXPECT_EQ(q.types, (std::vector<std::string>{"integer", "real", "text", "blob", "text", "varchar(10)", "boolean",
                                               "date", "datetime", "timestamp", "anything"}));
  ASSERT_EQ(q.values.size(), 3u);
  EXPECT_EQ(q.values[0], (Row{int64_t{7}, 1.5, std::string("hi"), Blob{"\xde\xad\xbe\xef"}, std::monostate{},
                              std::string("hi"), true, std::string("2020-01-01T00:00:00Z"),
                              std::string("2020-01-01T10:00:00Z"), std::string("2020-01-01T10:00:00Z"),
                              Blob{std::string(1, '\0')}}));
  EXPECT_EQ(q.values[1], (Row{int64_t{-3}, 2.0, std::string(""), Blob{""}, std::monostate{}, std::string("plain"),
                              false, std::string(kZeroTime), std::string("2020-01-01T10:00:00.123Z"),
                              std::string("2020-01-01T10:00:00+02:00"), int64_t{3}}));
  // Negative booleans are false (go-sqlite3: v > 0); REAL in a date column stays REAL.
  EXPECT_EQ(q.values[2][6], Value(false));
  EXPECT_EQ(q.values[2][7], Value(1.25));
}

TEST_F(DatabaseTest, UnfilledExpressionColumnsHaveEmptyTypesAndTextLikeBlobs) {
  Options options;
  options.fill_expression_types = false;
  db_.reset();
  db_ = OpenAt(Path("unfilled.sqlite"), options);
  MustExecute({"CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(2)"});
  StatementResult q = QueryOne("SELECT a, a + 1, 1.5, X'41', NULL FROM t ORDER BY a");
  EXPECT_EQ(q.types, (std::vector<std::string>{"integer", "", "", "", ""}));
  // A BLOB in a column with no declared type counts as text-like (rqlite isTextType("")).
  EXPECT_EQ(q.values[0], (Row{int64_t{1}, int64_t{2}, 1.5, std::string("A"), std::monostate{}}));
  StatementResult c = QueryOne("SELECT CASE a WHEN 1 THEN 5 ELSE X'41' END FROM t ORDER BY a");
  EXPECT_EQ(c.values, (std::vector<Row>{{int64_t{5}}, {std::string("A")}}));
}

TEST_F(DatabaseTest, ExpressionTypesComeFromTheFirstRowLikeRqlite8ByDefault) {
  MustExecute({"CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(2)"});
  StatementResult q = QueryOne("SELECT a, a + 1, 1.5, 'x', NULL, a * 2, X'41', upper('q') FROM t");
  // Filled from the first row, stopping at the first NULL.
  EXPECT_EQ(q.types, (std::vector<std::string>{"integer", "integer", "real", "text", "", "", "", ""}));
  EXPECT_EQ(q.values[0], (Row{int64_t{1}, int64_t{2}, 1.5, std::string("x"), std::monostate{}, int64_t{2},
                              std::string("A"), std::string("Q")}));
  StatementResult empty = QueryOne("SELECT a + 1 FROM t WHERE a > 5");
  EXPECT_EQ(empty.types, (std::vector<std::string>{""}));
  // Later rows render with the filled type: a BLOB under "integer" stays a BLOB.
  StatementResult c = QueryOne("SELECT CASE a WHEN 1 THEN 5 ELSE X'41' END FROM t ORDER BY a");
  EXPECT_EQ(c.types, (std::vector<std::string>{"integer"}));
  EXPECT_EQ(c.values, (std::vector<Row>{{int64_t{5}}, {Blob{"A"}}}));
}

TEST_F(DatabaseTest, ParametersOfEveryKindBind) {
  MustExecute({"CREATE TABLE p (i INTEGER, r REAL, t TEXT, b BLOB, z, f)"});
  Request r;
  r.statements.push_back(Statement{"INSERT INTO p VALUES(?, ?, ?, ?, ?, ?)",
                                   {Parameter{"", int64_t{9007199254740993}}, Parameter{"", 2.5},
                                    Parameter{"", std::string("it's")}, Parameter{"", Blob{std::string("\x01\x00", 2)}},
                                    Parameter{"", std::monostate{}}, Parameter{"", true}},
                                   false});
  r.statements.push_back(Statement{"INSERT INTO p(b, f) VALUES(?, ?)", {Parameter{"", Blob{""}}, Parameter{"", false}}, false});
  Response w = db_->Execute(r);
  ASSERT_EQ(w.results.size(), 2u);
  ASSERT_TRUE(w.results[0].error.empty()) << w.results[0].error;
  ASSERT_TRUE(w.results[1].error.empty()) << w.results[1].error;
  StatementResult q = QueryOne("SELECT i, r, t, b, z, f, typeof(b), typeof(f) FROM p");
  ASSERT_EQ(q.values.size(), 2u);
  EXPECT_EQ(q.values[0], (Row{int64_t{9007199254740993}, 2.5, std::string("it's"), Blob{std::string("\x01\x00", 2)},
                              std::monostate{}, int64_t{1}, std::string("blob"), std::string("integer")}));
  EXPECT_EQ(q.values[1][3], Value(Blob{""}));
  EXPECT_EQ(q.values[1][6], Value(std::string("blob")));
  EXPECT_EQ(q.values[1][5], Value(int64_t{0}));
}

TEST_F(DatabaseTest, NamedParametersBindUnderEveryPrefix) {
  MustExecute({"CREATE TABLE n (a, b, c)"});
  for (const char* sql : {"INSERT INTO n VALUES(:x, :y, :x)", "INSERT INTO n VALUES(@x, @y, @x)",
                          "INSERT INTO n VALUES($x, $y, $x)"}) {
    Request r;
    r.statements.push_back(Statement{sql, {Parameter{"x", int64_t{1}}, Parameter{"y", std::string("two")}}, false});
    Response w = db_->Execute(r);
    ASSERT_TRUE(w.results[0].error.empty()) << sql << ": " << w.results[0].error;
  }
  StatementResult q = QueryOne("SELECT * FROM n");
  ASSERT_EQ(q.values.size(), 3u);
  for (const Row& row : q.values) EXPECT_EQ(row, (Row{int64_t{1}, std::string("two"), int64_t{1}}));
  Request read;
  read.statements.push_back(Statement{"SELECT count(*) FROM n WHERE b = @who", {Parameter{"who", std::string("two")}}, false});
  EXPECT_EQ(db_->Query(read).results[0].values, (std::vector<Row>{{int64_t{3}}}));
}

TEST_F(DatabaseTest, TooFewParametersIsAStatementError) {
  MustExecute({"CREATE TABLE t (a, b)"});
  Request r;
  r.statements.push_back(Statement{"INSERT INTO t VALUES(?, ?)", {Parameter{"", int64_t{1}}}, false});
  EXPECT_EQ(db_->Execute(r).results[0].error, "not enough args to execute query: want 2 got 1");
}

TEST_F(DatabaseTest, MultiStatementStringRunsAllAndYieldsOneResult) {
  Response r = db_->Execute(Req({"CREATE TABLE t (a); INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);"}));
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_TRUE(r.results[0].error.empty());
  EXPECT_EQ(r.results[0].last_insert_id, 2);
  EXPECT_EQ(r.results[0].rows_affected, 1);
  // Positional parameters are consumed statement by statement.
  Request p;
  p.statements.push_back(
      Statement{"INSERT INTO t VALUES(?); INSERT INTO t VALUES(?)", {Parameter{"", int64_t{10}}, Parameter{"", int64_t{11}}}, false});
  ASSERT_TRUE(db_->Execute(p).results[0].error.empty());
  EXPECT_EQ(QueryOne("SELECT a FROM t ORDER BY a").values,
            (std::vector<Row>{{int64_t{1}}, {int64_t{2}}, {int64_t{10}}, {int64_t{11}}}));
  // A failing statement stops the string; earlier ones stay (no transaction).
  Response e = db_->Execute(Req({"INSERT INTO t VALUES(3); INSERT INTO nope VALUES(1); INSERT INTO t VALUES(4)"}));
  EXPECT_EQ(e.results[0].error, "no such table: nope");
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{5}}}));
}

TEST_F(DatabaseTest, TransactionRollsBackEverythingAndStopsAtFirstError) {
  MustExecute({"CREATE TABLE t (a INTEGER PRIMARY KEY)"});
  Response r = db_->Execute(Req({"INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(2)"}, true));
  ASSERT_EQ(r.results.size(), 2u);  // ends at the failing statement
  EXPECT_EQ(r.results[0].rows_affected, 1);
  EXPECT_EQ(r.results[1].error, "UNIQUE constraint failed: t.a");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{0}}}));
  Response ok = db_->Execute(Req({"INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(2)"}, true));
  EXPECT_EQ(ok.results.size(), 2u);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(DatabaseTest, BeginLeftOpenIsRolledBackAtEndOfRequest) {
  MustExecute({"CREATE TABLE t (a)"});
  Response r = db_->Execute(Req({"BEGIN", "INSERT INTO t VALUES(1)"}));
  EXPECT_TRUE(r.results[1].error.empty());
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{0}}}));
  // The next request starts outside any transaction.
  MustExecute({"INSERT INTO t VALUES(2)"});
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{1}}}));
  // BEGIN ... COMMIT inside one request works.
  MustExecute({"BEGIN", "INSERT INTO t VALUES(3)", "COMMIT"});
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(DatabaseTest, ReturningStatementsComeBackAsRows) {
  MustExecute({"CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO foo(name) VALUES('a')"});
  Request r;
  r.statements.push_back(Statement{"INSERT INTO foo(name) VALUES('declan') RETURNING id, name", {}, true});
  r.statements.push_back(Statement{"INSERT INTO foo(name) VALUES('x')", {}, false});
  Response w = db_->Execute(r);
  ASSERT_EQ(w.results.size(), 2u);
  EXPECT_TRUE(w.results[0].has_rows);
  EXPECT_EQ(w.results[0].columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(w.results[0].types, (std::vector<std::string>{"integer", "text"}));
  EXPECT_EQ(w.results[0].values, (std::vector<Row>{{int64_t{2}, std::string("declan")}}));
  EXPECT_EQ(w.results[1].last_insert_id, 3);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM foo").values, (std::vector<Row>{{int64_t{3}}}));
}

TEST_F(DatabaseTest, ExecuteOrQueryReturnsRowsOrCounts) {
  Response r = db_->ExecuteOrQuery(Req({"CREATE TABLE t (a TEXT)", "INSERT INTO t VALUES('x')", "SELECT * FROM t",
                                        "UPDATE t SET a = 'y'", "SELECT a FROM t"}));
  ASSERT_EQ(r.results.size(), 5u);
  EXPECT_FALSE(r.results[1].has_rows);
  EXPECT_EQ(r.results[1].rows_affected, 1);
  EXPECT_TRUE(r.results[2].has_rows);
  EXPECT_EQ(r.results[2].values, (std::vector<Row>{{std::string("x")}}));
  EXPECT_EQ(r.results[3].rows_affected, 1);
  EXPECT_EQ(r.results[4].values, (std::vector<Row>{{std::string("y")}}));
  // ?transaction holds on /db/request too.
  Response t = db_->ExecuteOrQuery(Req({"INSERT INTO t VALUES('z')", "SELECT * FROM nope"}, true));
  EXPECT_EQ(t.results.back().error, "no such table: nope");
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{1}}}));
}

TEST_F(DatabaseTest, DbTimeoutInterruptsALongQuery) {
  const std::string slow =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT max(x) FROM c";
  Request r = Req({slow});
  r.db_timeout_ns = 50'000'000;
  const auto start = std::chrono::steady_clock::now();
  Response q = db_->Query(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(q.results[0].error, kQueryTimeout);
  MustExecute({"CREATE TABLE t (a)"});
  Request w = Req({"INSERT INTO t " + slow.substr(0, slow.find(" SELECT max")) + " SELECT x FROM c"});
  w.db_timeout_ns = 50'000'000;
  EXPECT_EQ(db_->Execute(w).results[0].error, kExecuteTimeout);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{0}}}));
}

TEST(VmStepBudget, FollowsDbTimeoutAndNeverOverflows) {
  EXPECT_EQ(VmStepBudgetFor(0), 0);
  EXPECT_EQ(VmStepBudgetFor(-5), 0);
  EXPECT_EQ(VmStepBudgetFor(1), 1);  // any timeout at all bounds the write
  EXPECT_EQ(VmStepBudgetFor(1'000'000'000), kVmStepsPerSecond);
  EXPECT_EQ(VmStepBudgetFor(2'500'000'000), kVmStepsPerSecond * 5 / 2);
  const int64_t longest = std::numeric_limits<int64_t>::max();  // about 292 years
  EXPECT_EQ(VmStepBudgetFor(longest), longest / 1'000'000'000 * kVmStepsPerSecond +
                                          longest % 1'000'000'000 * kVmStepsPerSecond / 1'000'000'000);
}

// What makes the budget safe to replicate: the same write under the same
// budget has the same outcome on any database holding the same data,
// whatever the clock says, and a transaction it stops leaves nothing.
TEST_F(DatabaseTest, VmStepBudgetStopsTheSameWriteAtTheSameRowEverywhere) {
  const std::string insert =
      "INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
      "SELECT x FROM c";
  auto outcome = [&](Database& db, int64_t budget, bool transaction) {
    Request w = Req({"CREATE TABLE IF NOT EXISTS t (a)", "DELETE FROM t", insert}, transaction);
    w.vm_step_budget = budget;
    Response r = db.Execute(w);
    Request count = Req({"SELECT count(*) FROM t"});
    return std::make_pair(r.results.back().error, db.Query(count).results[0].values);
  };
  std::unique_ptr<Database> other = OpenAt(Path("other.sqlite"));
  int interrupted = 0;
  int completed = 0;
  for (int64_t budget : {1'000, 50'000, 200'000, 400'000, 600'000, 1'000'000, 5'000'000}) {
    for (bool transaction : {false, true}) {
      const auto here = outcome(*db_, budget, transaction);
      EXPECT_EQ(here, outcome(*other, budget, transaction)) << budget;
      EXPECT_EQ(here, outcome(*db_, budget, transaction)) << budget;
      if (here.first == kExecuteTimeout) {
        ++interrupted;
        EXPECT_EQ(here.second, (std::vector<Row>{{int64_t{0}}})) << "an interrupted INSERT leaves no row";
      } else {
        ++completed;
        EXPECT_EQ(here.first, "") << budget;
        EXPECT_EQ(here.second, (std::vector<Row>{{int64_t{20000}}}));
      }
    }
  }
  // The budgets straddle the write's cost, so both outcomes were seen.
  EXPECT_GT(interrupted, 0);
  EXPECT_GT(completed, 0);
  // No budget: the write runs to its end.
  EXPECT_EQ(outcome(*db_, 0, false).second, (std::vector<Row>{{int64_t{20000}}}));
}

TEST_F(DatabaseTest, ReadConnectionRefusesWrites) {
  MustExecute({"CREATE TABLE t (a)"});
  Response r = db_->Query(Req({"INSERT INTO t VALUES(1)", "SELECT count(*) FROM t", "CREATE TABLE u (b)"}));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[0].error, kWriteOnQueryPath);
  EXPECT_EQ(r.results[1].values, (std::vector<Row>{{int64_t{0}}}));
  EXPECT_EQ(r.results[2].error, kWriteOnQueryPath);
  // Even past the read-only pre-check, the connection itself cannot write.
  Response pragma = db_->Query(Req({"PRAGMA user_version = 5"}));
  EXPECT_FALSE(pragma.results[0].error.empty());
  EXPECT_EQ(QueryOne("PRAGMA user_version").values, (std::vector<Row>{{int64_t{0}}}));
}

TEST_F(DatabaseTest, QualifiedColumnsNameTheirTable) {
  MustExecute({"CREATE TABLE foo (id INTEGER, name TEXT)", "CREATE TABLE bar (id INTEGER, foo_id INTEGER)",
               "INSERT INTO foo VALUES(1, 'a')", "INSERT INTO bar VALUES(7, 1)"});
  Request r = Req({"SELECT foo.id, bar.id AS bid, name, 1 + 1 FROM foo JOIN bar ON bar.foo_id = foo.id"});
  r.qualify_columns = true;
  StatementResult q = db_->Query(r).results[0];
  EXPECT_EQ(q.columns, (std::vector<std::string>{"foo.id", "bar.bid", "foo.name", "1 + 1"}));
  EXPECT_EQ(db_->ExecuteOrQuery(r).results[0].columns, q.columns);  // /db/request honours it too
  r.qualify_columns = false;
  EXPECT_EQ(db_->Query(r).results[0].columns, (std::vector<std::string>{"id", "bid", "name", "1 + 1"}));
}

TEST_F(DatabaseTest, IsReadOnlyClassifiesEveryStatement) {
  MustExecute({"CREATE TABLE t (a)"});
  auto ro = [&](std::vector<std::string> sqls) {
    Result<bool> r = db_->IsReadOnly(Req(std::move(sqls)));
    EXPECT_TRUE(r.ok());
    return r.ok() && r.value();
  };
  EXPECT_TRUE(ro({"SELECT * FROM t", "SELECT 1"}));
  EXPECT_TRUE(ro({"SELECT 1; SELECT 2"}));
  EXPECT_FALSE(ro({"SELECT 1", "INSERT INTO t VALUES(1)"}));
  EXPECT_FALSE(ro({"SELECT 1; DELETE FROM t"}));
  EXPECT_FALSE(ro({"SELECT * FROM not_yet_created"}));  // unpreparable counts as a write
  EXPECT_FALSE(ro({"CREATE TABLE u (b)"}));
}

TEST_F(DatabaseTest, CheckAllowedRefusesDisallowedPragmasEverywhere) {
  MustExecute({"CREATE TABLE t (a)"});
  const char* const refused[] = {
      "PRAGMA journal_mode=DELETE", "PRAGMA main.\"Journal_Mode\" = wal", "PRAGMA wal_checkpoint(TRUNCATE)",
      "PRAGMA wal_autocheckpoint=1", "PRAGMA synchronous=FULL", "SELECT * FROM pragma_journal_mode()",
      "SELECT * FROM main.pragma_synchronous",
      // Hidden behind a statement that cannot be prepared yet.
      "INSERT INTO later VALUES(1); PRAGMA synchronous=NORMAL"};
  for (const char* sql : refused) {
    Status s = db_->CheckAllowed(Req({"SELECT 1", sql}));
    EXPECT_TRUE(s.IsInvalidArgument()) << sql;
    EXPECT_EQ(s.message(), "disallowed pragma") << sql;
  }
  EXPECT_TRUE(db_->CheckAllowed(Req({"PRAGMA foreign_keys", "SELECT * FROM pragma_table_info('t')", "VACUUM"})).ok());
  EXPECT_TRUE(db_->CheckAllowed(Req({"INSERT INTO missing VALUES(1)"})).ok());  // fails later, with SQLite's text
  EXPECT_EQ(db_->CheckAllowed(Req({"ATTACH 'other.db' AS o"})).message(), kAttachRefused);
  EXPECT_EQ(db_->CheckAllowed(Req({"DETACH o"})).message(), kDetachRefused);
  EXPECT_EQ(db_->CheckAllowed(Req({"VACUUM INTO '" + Path("copy.db") + "'"})).message(), kVacuumIntoRefused);
}

TEST_F(DatabaseTest, GuardStillHoldsWhenCheckAllowedIsSkipped) {
  Response r = db_->Execute(Req({"PRAGMA journal_mode=DELETE", "SELECT * FROM pragma_journal_mode",
                                 "ATTACH '" + Path("a.db") + "' AS a", "VACUUM INTO '" + Path("v.db") + "'", "VACUUM"}));
  ASSERT_EQ(r.results.size(), 5u);
  // SQLite words the denial differently per path; what matters is that each fails.
  EXPECT_EQ(r.results[0].error, "not authorized");
  EXPECT_EQ(r.results[1].error, "access to pragma_journal_mode.journal_mode is prohibited");
  EXPECT_EQ(r.results[2].error, "not authorized");
  EXPECT_EQ(r.results[3].error, "authorization denied");
  EXPECT_TRUE(r.results[4].error.empty()) << r.results[4].error;
  EXPECT_FALSE(std::filesystem::exists(Path("a.db")));
  EXPECT_FALSE(std::filesystem::exists(Path("v.db")));
  EXPECT_EQ(QueryOne("SELECT * FROM pragma_journal_mode").error,
            "access to pragma_journal_mode.journal_mode is prohibited");
  // Still in WAL mode: the header's read/write versions say 2.
  std::ifstream f(db_->path(), std::ios::binary);
  char header[20] = {};
  ASSERT_TRUE(f.read(header, sizeof(header)));
  EXPECT_EQ(header[18], 2);
  EXPECT_EQ(header[19], 2);
  Response mode = db_->ExecuteOrQuery(Req({"PRAGMA foreign_keys"}));
  EXPECT_TRUE(mode.results[0].error.empty());
}

TEST_F(DatabaseTest, CheckpointEmptiesTheWal) {
  MustExecute({"CREATE TABLE t (a)", "INSERT INTO t VALUES(randomblob(10000))"});
  Result<uint64_t> before = db_->WalSizeBytes();
  ASSERT_TRUE(before.ok());
  EXPECT_GT(before.value(), 10000u);
  const auto main_before = std::filesystem::file_size(db_->path());
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->WalSizeBytes().value(), 0u);
  EXPECT_GT(std::filesystem::file_size(db_->path()), main_before);
  // Writes keep working, and stay in the WAL until the next checkpoint.
  MustExecute({"INSERT INTO t VALUES(1)"});
  EXPECT_GT(db_->WalSizeBytes().value(), 0u);
}

TEST_F(DatabaseTest, CheckpointFailsClearlyWhileAReaderPinsTheWal) {
  Options options;
  options.busy_timeout = std::chrono::milliseconds(10);
  options.checkpoint_attempts_max = 2;
  options.checkpoint_retry_delay = std::chrono::milliseconds(1);
  db_.reset();
  db_ = OpenAt(Path("db.sqlite"), options);
  MustExecute({"CREATE TABLE t (a)", "INSERT INTO t VALUES(1)"});
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_->path().c_str(), &other, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN; SELECT * FROM t;", nullptr, nullptr, nullptr), SQLITE_OK);
  MustExecute({"INSERT INTO t VALUES(2)"});
  Status s = db_->Checkpoint();
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->WalSizeBytes().value(), 0u);
}

TEST_F(DatabaseTest, AnotherHandleReadsTheFileWhileTheWriterWrites) {
  MustExecute({"CREATE TABLE t (a INTEGER)"});
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_->path().c_str(), &other, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  for (int i = 1; i <= 20; ++i) {
    MustExecute({"INSERT INTO t VALUES(" + std::to_string(i) + ")"});
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(other, "SELECT count(*) FROM t", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(stmt, 0), i);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(other);
}

TEST_F(DatabaseTest, WalSurvivesCloseAndDiscardWalRemovesIt) {
  MustExecute({"CREATE TABLE t (a)", "INSERT INTO t VALUES(1)"});
  ASSERT_TRUE(db_->Close().ok());
  EXPECT_TRUE(std::filesystem::exists(Path("db.sqlite-wal")));
  EXPECT_GT(std::filesystem::file_size(Path("db.sqlite-wal")), 0u);
  ASSERT_TRUE(Database::DiscardWal(Path("db.sqlite")).ok());
  EXPECT_FALSE(std::filesystem::exists(Path("db.sqlite-wal")));
  EXPECT_FALSE(std::filesystem::exists(Path("db.sqlite-shm")));
  EXPECT_TRUE(Database::DiscardWal(Path("db.sqlite")).ok());  // idempotent
  db_ = OpenAt(Path("db.sqlite"));
  // The table lived only in the discarded WAL.
  EXPECT_EQ(QueryOne("SELECT * FROM t").error, "no such table: t");
}

TEST_F(DatabaseTest, DdlAndUpdateRepeatConnectionCountsLikeGoSqlite3) {
  Response r = db_->Execute(Req({"CREATE TABLE t (a)", "INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(2)",
                                 "UPDATE t SET a = a + 1 WHERE a = 1", "CREATE TABLE u (b)"}));
  ASSERT_EQ(r.results.size(), 5u);
  EXPECT_EQ(r.results[3].last_insert_id, 2);  // the UPDATE reports the earlier insert's id
  EXPECT_EQ(r.results[3].rows_affected, 1);
  EXPECT_EQ(r.results[4].last_insert_id, 2);  // DDL repeats the previous counts
  EXPECT_EQ(r.results[4].rows_affected, 1);
}

TEST_F(DatabaseTest, OpenFailsClearlyOnBadPaths) {
  Result<std::unique_ptr<Database>> missing = Database::Open(Path("no/such/dir/db.sqlite"), Options{});
  EXPECT_TRUE(missing.status().IsIOError()) << missing.status().ToString();
  const std::string junk = Path("junk.sqlite");
  std::ofstream(junk) << std::string(4096, 'j');
  Result<std::unique_ptr<Database>> not_db = Database::Open(junk, Options{});
  ASSERT_FALSE(not_db.ok());
  EXPECT_NE(not_db.status().message().find("file is not a database"), std::string::npos) << not_db.status().ToString();
}

TEST_F(DatabaseTest, ReadsRunWhileTheWriterWrites) {
  MustExecute({"CREATE TABLE t (a INTEGER)"});
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    int64_t last = 0;
    while (!done) {
      Response r = db_->Query(Req({"SELECT count(*) FROM t"}));
      if (r.results.size() != 1 || !r.results[0].error.empty()) {
        ++bad;
        continue;
      }
      const int64_t n = std::get<int64_t>(r.results[0].values[0][0]);
      if (n < last) ++bad;  // snapshots never go backwards
      last = n;
    }
  });
  for (int i = 0; i < 500; ++i) MustExecute({"INSERT INTO t VALUES(" + std::to_string(i) + ")"});
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{500}}}));
}

TEST_F(DatabaseTest, ForeignKeysOptionIsEnforced) {
  Options options;
  options.foreign_keys = true;
  db_.reset();
  db_ = OpenAt(Path("fk.sqlite"), options);
  MustExecute({"CREATE TABLE p (id INTEGER PRIMARY KEY)", "CREATE TABLE c (pid INTEGER REFERENCES p(id))"});
  EXPECT_EQ(db_->Execute(Req({"INSERT INTO c VALUES(5)"})).results[0].error, "FOREIGN KEY constraint failed");
}

TEST_F(DatabaseTest, ReaderPoolBlocksAtItsLimitAndServesEveryone) {
  Options options;
  options.max_read_connections = 2;
  db_.reset();
  db_ = OpenAt(Path("pool.sqlite"), options);
  MustExecute({"CREATE TABLE t (a)", "INSERT INTO t VALUES(1)"});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        Response r = db_->Query(Req({"SELECT count(*) FROM t"}));
        if (r.results.size() == 1 && r.results[0].values == std::vector<Row>{{int64_t{1}}}) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 120);
}

// ---- A request prepares each repeated SQL text once (StatementCache). ----

TEST_F(DatabaseTest, RepeatedStatementIsReboundEachTime) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"});
  Request r;
  for (int i = 1; i <= 40; ++i) {
    const bool named = i % 2 == 0;
    r.statements.push_back(Statement{named ? "INSERT INTO t(id, v) VALUES(:id, :v)" : "INSERT INTO t(id, v) VALUES(?, ?)",
                                     {Parameter{named ? "id" : "", int64_t{i}},
                                      Parameter{named ? "v" : "", "v" + std::to_string(i)}},
                                     false});
  }
  // The same text with too few arguments, then with enough again.
  r.statements.push_back(Statement{"INSERT INTO t(id, v) VALUES(?, ?)", {Parameter{"", int64_t{41}}}, false});
  r.statements.push_back(Statement{"INSERT INTO t(id, v) VALUES(?, ?)",
                                   {Parameter{"", int64_t{42}}, Parameter{"", std::string("v42")}}, false});
  Response response = db_->Execute(r);
  ASSERT_EQ(response.results.size(), 42u);
  EXPECT_EQ(response.results[39].last_insert_id, 40);
  EXPECT_EQ(response.results[40].error, "not enough args to execute query: want 2 got 1");
  EXPECT_EQ(response.results[41].last_insert_id, 42);
  EXPECT_EQ(QueryOne("SELECT count(*), sum(id), min(v), max(v) FROM t WHERE v = 'v' || id").values,
            (std::vector<Row>{{int64_t{41}, int64_t{42 * 43 / 2 - 41}, std::string("v1"), std::string("v9")}}));
}

TEST_F(DatabaseTest, RepeatedStatementSeesSchemaChangesWithinTheRequest) {
  MustExecute({"CREATE TABLE t (a)"});
  Request r = Req({"INSERT INTO t VALUES(1)", "SELECT * FROM t", "ALTER TABLE t ADD COLUMN b DEFAULT 7",
                   "SELECT * FROM t", "INSERT INTO t VALUES(1)", "DROP TABLE t", "INSERT INTO t VALUES(1)",
                   "SELECT * FROM t"});
  Response response = db_->ExecuteOrQuery(r);
  ASSERT_EQ(response.results.size(), 8u);
  EXPECT_EQ(response.results[1].columns, (std::vector<std::string>{"a"}));
  EXPECT_EQ(response.results[3].columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(response.results[3].values, (std::vector<Row>{{int64_t{1}, int64_t{7}}}));
  EXPECT_EQ(response.results[4].error, "table t has 2 columns but 1 values were supplied");
  EXPECT_EQ(response.results[6].error, "no such table: t");
  EXPECT_EQ(response.results[7].error, "no such table: t");
}

TEST_F(DatabaseTest, RepeatedStatementBoundAfterItsTableWentReportsTheMissingTable) {
  MustExecute({"CREATE TABLE t (a)"});
  Request r;
  r.statements.push_back(Statement{"INSERT INTO t VALUES(?)", {Parameter{"", int64_t{1}}}, false});
  r.statements.push_back(Statement{"DROP TABLE t", {}, false});
  r.statements.push_back(Statement{"INSERT INTO t VALUES(?)", {}, false});
  Response response = db_->Execute(r);
  ASSERT_EQ(response.results.size(), 3u);
  EXPECT_TRUE(response.results[0].error.empty()) << response.results[0].error;
  EXPECT_EQ(response.results[2].error, "no such table: t");
}

TEST_F(DatabaseTest, RepeatedStatementGetsAFreshStepBudgetEachTime) {
  MustExecute({"CREATE TABLE t (a)"});
  // A budget a little over one INSERT's steps: each use must get all of it,
  // as a freshly prepared statement does (SQLite counts VM steps per
  // statement across resets).
  Request r = Req(std::vector<std::string>(300, "INSERT INTO t VALUES(1)"));
  r.transaction = true;
  r.vm_step_budget = 1000;
  Response response = db_->Execute(r);
  ASSERT_EQ(response.results.size(), 300u);
  for (const StatementResult& result : response.results) ASSERT_TRUE(result.error.empty()) << result.error;
  EXPECT_EQ(QueryOne("SELECT count(*) FROM t").values, (std::vector<Row>{{int64_t{300}}}));
}

TEST_F(DatabaseTest, ManyDistinctRepeatedStatementsAllRunAndMultiStatementTextsAreNotCached) {
  MustExecute({"CREATE TABLE t (k INTEGER, n INTEGER)"});
  std::vector<std::string> sqls;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 40; ++k) sqls.push_back("INSERT INTO t VALUES(" + std::to_string(k) + ", " + std::to_string(round) + ")");
    sqls.push_back("INSERT INTO t VALUES(100, 0); INSERT INTO t VALUES(101, 0)");
    sqls.push_back("INSERT INTO t VALUES(102, 0); -- a comment after");
  }
  MustExecute(sqls);
  EXPECT_EQ(QueryOne("SELECT count(*), count(DISTINCT k), sum(n) FROM t").values,
            (std::vector<Row>{{int64_t{3 * 43}, int64_t{43}, int64_t{40 * 3}}}));
}

}  // namespace
}  // namespace rq::db
