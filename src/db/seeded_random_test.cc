// random() and randomblob() on the writer (db/seeded_random.h): SQL that
// SQLite evaluates inside a write gets values of its own per call, row and
// seed, and the same values again on another database given the same seeds.
#include "db/seeded_random.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/test_dir.h"
#include "db/database.h"

namespace rq::db {
namespace {

using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;
using command::Value;
using Row = std::vector<Value>;

class SeededRandomTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("seeded_random_test");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Database> Open(const std::string& name) {
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / name).string(), Options{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static Request Req(std::vector<std::string> sqls) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    return r;
  }

  // One "log entry": seed, then the write; every statement must succeed.
  static void Apply(Database& db, uint64_t seed, std::vector<std::string> sqls) {
    db.SeedRandom(seed);
    Response r = db.Execute(Req(std::move(sqls)));
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const StatementResult& s : r.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }

  // The table of issue 13 item 5, plus a trigger drawing random() too; rows
  // 1-3 in one request (one batched transaction), 4 alone, 5-6 in one
  // statement. `seeds` are the four entries' seeds.
  static void Populate(Database& db, const uint64_t (&seeds)[4]) {
    Apply(db, seeds[0],
          {"CREATE TABLE e (id INTEGER PRIMARY KEY, r INTEGER DEFAULT (random()), b BLOB DEFAULT (randomblob(4)))",
           "CREATE TABLE log (id INTEGER, r INTEGER, b BLOB)",
           "CREATE TRIGGER tr AFTER INSERT ON e BEGIN INSERT INTO log VALUES (new.id, random(), randomblob(3)); END"});
    Apply(db, seeds[1], {"INSERT INTO e(id) VALUES(1)", "INSERT INTO e(id) VALUES(2)", "INSERT INTO e(id) VALUES(3)"});
    Apply(db, seeds[2], {"INSERT INTO e(id) VALUES(4)"});
    Apply(db, seeds[3], {"INSERT INTO e(id) VALUES(5), (6)"});
  }

  static std::vector<Row> Rows(Database& db, const std::string& sql) {
    Response r = db.Query(Req({sql}));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.results.size(), 1u);
    if (r.results.size() != 1) return {};
    EXPECT_TRUE(r.results[0].error.empty()) << r.results[0].error;
    return r.results[0].values;
  }

  static std::vector<Row> TableE(Database& db) {
    return Rows(db, "SELECT id, r, hex(b), typeof(r), length(b) FROM e ORDER BY id");
  }
  static std::vector<Row> TableLog(Database& db) { return Rows(db, "SELECT id, r, hex(b) FROM log ORDER BY id"); }

  // How many distinct values column `column` holds.
  static size_t Distinct(const std::vector<Row>& rows, size_t column) {
    std::set<std::string> seen;
    for (const Row& row : rows) {
      const Value& v = row.at(column);
      if (const auto* i = std::get_if<int64_t>(&v)) seen.insert("i" + std::to_string(*i));
      if (const auto* s = std::get_if<std::string>(&v)) seen.insert("s" + *s);
    }
    return seen.size();
  }

  std::filesystem::path dir_;
};

TEST_F(SeededRandomTest, DefaultsAndTriggersDrawPerRowAndReplayIdentically) {
  std::unique_ptr<Database> a = Open("a.sqlite");
  std::unique_ptr<Database> b = Open("b.sqlite");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const uint64_t seeds[4] = {101, 102, 103, 104};
  Populate(*a, seeds);
  Populate(*b, seeds);

  std::vector<Row> e = TableE(*a);
  ASSERT_EQ(e.size(), 6u);
  for (const Row& row : e) {
    EXPECT_EQ(row[3], Value(std::string("integer")));
    EXPECT_EQ(row[4], Value(int64_t{4}));
  }
  EXPECT_EQ(Distinct(e, 1), 6u) << "r repeats across rows";
  EXPECT_EQ(Distinct(e, 2), 6u) << "b repeats across rows";
  std::vector<Row> log = TableLog(*a);
  ASSERT_EQ(log.size(), 6u);
  EXPECT_EQ(Distinct(log, 1), 6u) << "the trigger's random() repeats";
  EXPECT_EQ(Distinct(log, 2), 6u) << "the trigger's randomblob() repeats";

  // Another replica given the same entries computes the same values.
  EXPECT_EQ(TableE(*b), e);
  EXPECT_EQ(TableLog(*b), log);
}

TEST_F(SeededRandomTest, OtherSeedsGiveOtherValues) {
  std::unique_ptr<Database> a = Open("a.sqlite");
  std::unique_ptr<Database> c = Open("c.sqlite");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(c, nullptr);
  const uint64_t seeds_a[4] = {1, 2, 3, 4};
  const uint64_t seeds_c[4] = {1, 2, 3, 5};  // only the last entry differs
  Populate(*a, seeds_a);
  Populate(*c, seeds_c);
  std::vector<Row> ea = TableE(*a);
  std::vector<Row> ec = TableE(*c);
  ASSERT_EQ(ea.size(), 6u);
  ASSERT_EQ(ec.size(), 6u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(ea[i], ec[i]) << "row " << i + 1;
  for (size_t i = 4; i < 6; ++i) {
    EXPECT_NE(ea[i][1], ec[i][1]) << "row " << i + 1;
    EXPECT_NE(ea[i][2], ec[i][2]) << "row " << i + 1;
  }
  // Eight blobs in all: the four rows both share, two more from each seed.
  std::set<std::string> all;
  for (const auto* rows : {&ea, &ec}) {
    for (const Row& row : *rows) all.insert(std::get<std::string>(row[2]));
  }
  EXPECT_EQ(all.size(), 8u);
}

TEST_F(SeededRandomTest, KeepsSqliteSemantics) {
  std::unique_ptr<Database> db = Open("a.sqlite");
  ASSERT_NE(db, nullptr);
  db->SeedRandom(7);
  Response r = db->ExecuteOrQuery(Req({"SELECT typeof(random()), length(randomblob(0)), length(randomblob(-3)), "
                                       "length(randomblob(NULL)), length(randomblob(13)), typeof(randomblob(2)), "
                                       "random() <> random()"}));
  ASSERT_EQ(r.results.size(), 1u);
  ASSERT_TRUE(r.results[0].error.empty()) << r.results[0].error;
  EXPECT_EQ(r.results[0].values, (std::vector<Row>{{std::string("integer"), int64_t{1}, int64_t{1}, int64_t{1},
                                                    int64_t{13}, std::string("blob"), int64_t{1}}}));
  r = db->ExecuteOrQuery(Req({"SELECT randomblob(2000000000)"}));
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].error, "string or blob too big");
  // Both signs come out, and never INT64_MIN.
  r = db->ExecuteOrQuery(Req({"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
                              "SELECT sum(v < 0), sum(v > 0), min(v) > -9223372036854775807 - 1 "
                              "FROM (SELECT random() AS v FROM c)"}));
  ASSERT_EQ(r.results.size(), 1u);
  ASSERT_TRUE(r.results[0].error.empty()) << r.results[0].error;
  const Row& row = r.results[0].values.at(0);
  EXPECT_GT(std::get<int64_t>(row[0]), 400);
  EXPECT_GT(std::get<int64_t>(row[1]), 400);
  EXPECT_EQ(row[2], Value(int64_t{1}));
}

TEST_F(SeededRandomTest, SameSeedSameSequenceAcrossConnections) {
  std::unique_ptr<Database> a = Open("a.sqlite");
  std::unique_ptr<Database> b = Open("b.sqlite");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string sql = "SELECT random(), hex(randomblob(20)), random()";
  a->SeedRandom(42);
  b->SeedRandom(42);
  Response ra = a->ExecuteOrQuery(Req({sql}));
  Response rb = b->ExecuteOrQuery(Req({sql}));
  ASSERT_EQ(ra.results.size(), 1u);
  ASSERT_EQ(rb.results.size(), 1u);
  EXPECT_EQ(ra.results[0].values, rb.results[0].values);
  EXPECT_NE(ra.results[0].values[0][0], ra.results[0].values[0][2]);
  // Reseeding starts the sequence again.
  a->SeedRandom(42);
  EXPECT_EQ(a->ExecuteOrQuery(Req({sql})).results[0].values, ra.results[0].values);
}

TEST_F(SeededRandomTest, ABatchRunAgainInAutocommitDrawsAsIfRunOnce) {
  std::unique_ptr<Database> a = Open("a.sqlite");
  std::unique_ptr<Database> b = Open("b.sqlite");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<std::string> create = {"CREATE TABLE t (id INTEGER PRIMARY KEY, r INTEGER DEFAULT (random()))",
                                           "CREATE TRIGGER no_sevens BEFORE INSERT ON t WHEN NEW.id = 7 "
                                           "BEGIN SELECT RAISE(ROLLBACK, 'no sevens'); END"};
  Apply(*a, 1, create);
  Apply(*b, 1, create);
  // The trigger ends the batch's transaction, so the request runs again
  // statement by statement (database.cc RunWriteRequest).
  const std::vector<std::string> sqls = {"INSERT INTO t(id) VALUES(1)", "INSERT INTO t(id) VALUES(7)",
                                         "INSERT INTO t(id) VALUES(2)"};
  a->SeedRandom(9);
  Response r = a->Execute(Req(sqls));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[1].error, "no sevens");
  b->SeedRandom(9);
  for (const std::string& sql : sqls) (void)b->Execute(Req({sql}));  // autocommit, one by one
  EXPECT_EQ(Rows(*a, "SELECT id, r FROM t ORDER BY id"), Rows(*b, "SELECT id, r FROM t ORDER BY id"));
  EXPECT_EQ(Rows(*a, "SELECT count(*) FROM t"), (std::vector<Row>{{int64_t{2}}}));
}

TEST(SeededRandomGenerator, ReseedAndRestoreReplay) {
  Random random(5);
  const uint64_t first = random.Next();
  const uint64_t state = random.state();
  const uint64_t second = random.Next();
  EXPECT_NE(first, second);
  random.Restore(state);
  EXPECT_EQ(random.Next(), second);
  random = Random(5);
  EXPECT_EQ(random.Next(), first);
  random = Random(6);
  EXPECT_NE(random.Next(), first);
}

}  // namespace
}  // namespace rq::db
