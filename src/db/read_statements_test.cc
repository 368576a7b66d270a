// A reader's kept statements (Connection::read_statements) and the quick
// reads they allow (Database::QueryQuickly).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "base/test_dir.h"
#include "db/database.h"

namespace rq::db {
namespace {

using command::Blob;
using command::Parameter;
using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;
using command::Value;
using Row = std::vector<Value>;

class ReadStatementsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("read_statements_test");
    Open(Generous());
  }

  // Time bounds no loaded machine misses, so that only the limits a test
  // sets out to reach decide.
  static Options Generous() {
    Options options;
    options.quick_read_run_max = std::chrono::seconds(5);
    options.quick_read_deadline = std::chrono::seconds(30);
    return options;
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(Options options) {
    db_.reset();
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / "db.sqlite").string(), options);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  static Request Req(std::string sql, std::vector<Parameter> params = {}) {
    Request r;
    r.statements.push_back(Statement{std::move(sql), std::move(params), false});
    return r;
  }

  void MustExecute(std::vector<std::string> sqls) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    Response response = db_->Execute(r);
    ASSERT_TRUE(response.error.empty()) << response.error;
    for (const StatementResult& s : response.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }

  StatementResult QueryOne(const std::string& sql) {
    Response r = db_->Query(Req(sql));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.results.size(), 1u);
    return r.results.empty() ? StatementResult{} : r.results[0];
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

// Sequential queries lease the same reader, so these reuse one statement.
TEST_F(ReadStatementsTest, ReusedReadNamesTheColumnsOfTheSchemaItRunsAgainst) {
  MustExecute({"CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES(1)"});
  EXPECT_EQ(QueryOne("SELECT * FROM t").columns, (std::vector<std::string>{"a"}));
  MustExecute({"ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'"});
  StatementResult altered = QueryOne("SELECT * FROM t");
  EXPECT_EQ(altered.columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(altered.types, (std::vector<std::string>{"integer", "text"}));
  EXPECT_EQ(altered.values, (std::vector<Row>{{int64_t{1}, std::string("x")}}));
  MustExecute({"DELETE FROM t", "ALTER TABLE t ADD COLUMN c REAL"});
  StatementResult empty = QueryOne("SELECT * FROM t");
  EXPECT_EQ(empty.columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(empty.values.empty());

  MustExecute({"DROP TABLE t"});
  Response gone = db_->Query(Req({"SELECT * FROM t"}));
  ASSERT_EQ(gone.results.size(), 1u);
  EXPECT_EQ(gone.results[0].error, "no such table: t");
  MustExecute({"CREATE TABLE t (z BLOB)", "INSERT INTO t VALUES(x'01')"});
  StatementResult recreated = QueryOne("SELECT * FROM t");
  EXPECT_EQ(recreated.columns, (std::vector<std::string>{"z"}));
  EXPECT_EQ(recreated.types, (std::vector<std::string>{"blob"}));
}

TEST_F(ReadStatementsTest, ReusedReadIsReboundForEachRequest) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES(1, 'one')",
               "INSERT INTO t VALUES(2, 'two')"});
  for (int round = 0; round < 3; ++round) {
    for (int64_t id : {int64_t{1}, int64_t{2}, int64_t{3}}) {
      Request r;
      r.statements.push_back(Statement{"SELECT v FROM t WHERE id = ?", {Parameter{"", id}}, false});
      Response response = db_->Query(r);
      ASSERT_EQ(response.results.size(), 1u);
      const std::vector<Row> expected =
          id == 3 ? std::vector<Row>{} : std::vector<Row>{{std::string(id == 1 ? "one" : "two")}};
      EXPECT_EQ(response.results[0].values, expected) << "id " << id;
    }
  }
  // Too few arguments for the kept statement, then enough again.
  Request missing;
  missing.statements.push_back(Statement{"SELECT v FROM t WHERE id = ?", {}, false});
  EXPECT_EQ(db_->Query(missing).results.at(0).error, "not enough args to execute query: want 1 got 0");
  Request named;
  named.statements.push_back(Statement{"SELECT v FROM t WHERE id = :id", {Parameter{"id", int64_t{2}}}, false});
  EXPECT_EQ(db_->Query(named).results.at(0).values, (std::vector<Row>{{std::string("two")}}));
  EXPECT_EQ(db_->Query(named).results.at(0).values, (std::vector<Row>{{std::string("two")}}));
}

// ---- QueryQuickly: only what last ran quickly, within limits, never waiting.

TEST_F(ReadStatementsTest, QuickReadRunsOnlyWhatTheReaderAlreadyRanQuickly) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES(1, 'one')",
               "INSERT INTO t VALUES(2, 'two')"});
  const Request first = Req("SELECT v FROM t WHERE id = ?", {Parameter{"", int64_t{1}}});
  EXPECT_FALSE(db_->QueryQuickly(first).has_value()) << "never prepared on any reader yet";
  const Response full = db_->Query(first);
  ASSERT_EQ(full.results.size(), 1u);
  std::optional<Response> quick = db_->QueryQuickly(first);
  ASSERT_TRUE(quick.has_value());
  ASSERT_EQ(quick->results.size(), 1u);
  EXPECT_EQ(quick->results[0].columns, full.results[0].columns);
  EXPECT_EQ(quick->results[0].types, full.results[0].types);
  EXPECT_EQ(quick->results[0].values, (std::vector<Row>{{std::string("one")}}));
  quick = db_->QueryQuickly(Req("SELECT v FROM t WHERE id = ?", {Parameter{"", int64_t{2}}}));
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->results.at(0).values, (std::vector<Row>{{std::string("two")}}));
  // A write the quick read sees at once (a new read transaction each time).
  MustExecute({"UPDATE t SET v = 'uno' WHERE id = 1"});
  quick = db_->QueryQuickly(first);
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->results.at(0).values, (std::vector<Row>{{std::string("uno")}}));
  // A request with any statement the reader has not run quickly goes whole.
  Request mixed = first;
  mixed.statements.push_back(Statement{"SELECT count(*) FROM t", {}, false});
  EXPECT_FALSE(db_->QueryQuickly(mixed).has_value());
  // Errors are left to the full run, which reports them.
  EXPECT_FALSE(db_->QueryQuickly(Req("SELECT v FROM t WHERE id = ?")).has_value());
  EXPECT_EQ(db_->Query(Req("SELECT v FROM t WHERE id = ?")).results.at(0).error,
            "not enough args to execute query: want 1 got 0");
  EXPECT_FALSE(db_->QueryQuickly(first).has_value()) << "its last run failed";
  EXPECT_TRUE(db_->Query(first).results.at(0).error.empty());
  EXPECT_TRUE(db_->QueryQuickly(first).has_value());
}

TEST_F(ReadStatementsTest, SlowReadIsNeverQuick) {
  Open(Options{});  // the default time bounds
  const Request slow = Req(
      "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200000) SELECT count(*) FROM c");
  EXPECT_EQ(db_->Query(slow).results.at(0).values, (std::vector<Row>{{int64_t{200000}}}));
  EXPECT_FALSE(db_->QueryQuickly(slow).has_value());
  EXPECT_FALSE(db_->QueryQuickly(slow).has_value());
}

TEST_F(ReadStatementsTest, QuickReadGivesUpPastItsLimitsAndTheFullRunAnswers) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY, v)", "INSERT INTO t VALUES(1, 'small')",
               "INSERT INTO t VALUES(2, zeroblob(300000))"});
  const Request small = Req("SELECT v FROM t WHERE id = ?", {Parameter{"", int64_t{1}}});
  const Request big = Req("SELECT v FROM t WHERE id = ?", {Parameter{"", int64_t{2}}});
  ASSERT_TRUE(db_->Query(small).results.at(0).error.empty());
  ASSERT_TRUE(db_->QueryQuickly(small).has_value());
  // One value over the quick length limit.
  EXPECT_FALSE(db_->QueryQuickly(big).has_value());
  // The full run has SQLite's own limit back.
  const Response full = db_->Query(big);
  ASSERT_TRUE(full.results.at(0).error.empty()) << full.results[0].error;
  ASSERT_EQ(full.results[0].values.size(), 1u);
  const Value& value = full.results[0].values[0][0];
  const size_t bytes = std::holds_alternative<Blob>(value) ? std::get<Blob>(value).bytes.size()
                                                           : std::get<std::string>(value).size();
  EXPECT_GE(bytes, 300000u);

  // Rows whose bytes add up past the limit, each value small.
  MustExecute({"CREATE TABLE m (k INTEGER, v TEXT)", "INSERT INTO m VALUES(1, 'x')"});
  const Request range = Req("SELECT v FROM m WHERE k >= ?", {Parameter{"", int64_t{1}}});
  ASSERT_TRUE(db_->Query(range).results.at(0).error.empty());
  ASSERT_TRUE(db_->QueryQuickly(range).has_value());
  MustExecute({"WITH RECURSIVE c(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM c WHERE n < 400) "
               "INSERT INTO m SELECT n, printf('%.1000c', 'y') FROM c"});
  EXPECT_FALSE(db_->QueryQuickly(range).has_value());
  EXPECT_EQ(db_->Query(range).results.at(0).values.size(), 400u);

  // A scan whose VM steps grew past the budget, its answer a few bytes.
  MustExecute({"CREATE TABLE s (k INTEGER)", "INSERT INTO s VALUES(1)"});
  const Request count = Req("SELECT count(*) FROM s WHERE k + 0 > ?", {Parameter{"", int64_t{0}}});
  ASSERT_TRUE(db_->Query(count).results.at(0).error.empty());
  ASSERT_TRUE(db_->QueryQuickly(count).has_value());
  MustExecute({"WITH RECURSIVE c(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM c WHERE n < 50000) "
               "INSERT INTO s SELECT n FROM c"});
  EXPECT_FALSE(db_->QueryQuickly(count).has_value());
  EXPECT_EQ(db_->Query(count).results.at(0).values, (std::vector<Row>{{int64_t{50000}}}));
}

TEST_F(ReadStatementsTest, QuickReadNeverWaitsForALockAndTheReaderGetsItsTimeoutBack) {
  Options options = Generous();
  options.busy_timeout = std::chrono::milliseconds(60000);
  Open(options);
  // PRAGMA busy_timeout reports the connection's own setting.
  const Request timeout = Req("PRAGMA busy_timeout");
  EXPECT_EQ(db_->Query(timeout).results.at(0).values, (std::vector<Row>{{int64_t{60000}}}));
  std::optional<Response> quick = db_->QueryQuickly(timeout);
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->results.at(0).values, (std::vector<Row>{{int64_t{0}}}));
  EXPECT_EQ(db_->Query(timeout).results.at(0).values, (std::vector<Row>{{int64_t{60000}}}));
}

}  // namespace
}  // namespace rq::db
