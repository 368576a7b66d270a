// Writes that share one SQLite transaction: a request's plain DML batched
// into one (Database::RunWriteRequest) and consecutive writes grouped into
// one (Database::ExecuteGroup), each giving the results autocommit gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <span>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/test_dir.h"
#include "db/batch_check.h"
#include "db/database.h"

namespace rq::db {
namespace {

using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;
using command::Value;
using Row = std::vector<Value>;

class SharedTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("shared_transaction_test");
    db_ = OpenAt("db.sqlite");
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Database> OpenAt(const std::string& name) {
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / name).string(), Options{});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static Request Req(std::vector<std::string> sqls) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    return r;
  }

  static void MustExecute(Database& db, std::vector<std::string> sqls) {
    Response r = db.Execute(Req(std::move(sqls)));
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const StatementResult& s : r.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }
  void MustExecute(std::vector<std::string> sqls) { MustExecute(*db_, std::move(sqls)); }

  static StatementResult QueryOne(Database& db, const std::string& sql) {
    Response r = db.Query(Req({sql}));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.results.size(), 1u);
    return r.results.empty() ? StatementResult{} : r.results[0];
  }
  StatementResult QueryOne(const std::string& sql) { return QueryOne(*db_, sql); }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST(BatchEligibilityTest, OnlyPlainDmlWithNoTransactionWordsIsBatched) {
  auto batchable = [](std::vector<std::string> sqls, bool transaction = false) {
    command::Request request;
    request.transaction = transaction;
    for (std::string& sql : sqls) {
      Statement statement;
      statement.sql = std::move(sql);
      request.statements.push_back(std::move(statement));
    }
    return CanBatchInOneTransaction(request);
  };
  const std::string insert = "INSERT INTO t VALUES(1)";
  EXPECT_TRUE(batchable({insert, " \n\tinsert into t values('x')", "UPDATE t SET a=1", "delete from t",
                         "Replace INTO t VALUES(2)", "INSERT INTO t(savepoint_no, begins) VALUES(1, 2)"}));
  EXPECT_FALSE(batchable({insert}));                          // one statement: nothing to gain
  EXPECT_FALSE(batchable({insert, insert}, /*transaction=*/true));  // already one transaction
  EXPECT_FALSE(batchable({insert, "SELECT 1"}));
  EXPECT_FALSE(batchable({insert, "INSERT INTO t VALUES(1); INSERT INTO t VALUES(2)"}));
  EXPECT_FALSE(batchable({insert, "/* c */ INSERT INTO t VALUES(1)"}));
  EXPECT_FALSE(batchable({insert, "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x"}));
  EXPECT_FALSE(batchable({insert, "INSERTX INTO t VALUES(1)"}));
  EXPECT_FALSE(batchable({insert, ""}));
  EXPECT_FALSE(batchable({insert, "   "}));
  for (const char* word : {"begin", "COMMIT", "End", "rollback", "SAVEPOINT", "release", "pragma", "attach",
                           "Detach", "vacuum"}) {
    // Even inside a literal or an identifier of its own: conservative.
    EXPECT_FALSE(batchable({insert, std::string("INSERT INTO t VALUES('") + word + "')"})) << word;
    EXPECT_FALSE(batchable({insert, std::string("UPDATE t SET \"") + word + "\" = 1"})) << word;
  }
}

TEST_F(SharedTransactionTest, BatchedDmlKeepsPerStatementErrorsAndCounts) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"});
  Response r = db_->Execute(Req({"INSERT INTO t(id, v) VALUES(1, 'a')", "INSERT INTO t(id, v) VALUES(1, 'dup')",
                                 "INSERT INTO t(id, v) VALUES(2, NULL)", "INSERT INTO t(id, v) VALUES(3, 'c')",
                                 "UPDATE t SET v = 'z' WHERE id >= 1"}));
  ASSERT_EQ(r.results.size(), 5u);
  EXPECT_EQ(r.results[0].rows_affected, 1);
  EXPECT_EQ(r.results[0].last_insert_id, 1);
  EXPECT_EQ(r.results[1].error, "UNIQUE constraint failed: t.id");
  EXPECT_EQ(r.results[2].error, "NOT NULL constraint failed: t.v");
  EXPECT_EQ(r.results[3].last_insert_id, 3);
  EXPECT_EQ(r.results[4].rows_affected, 2);
  EXPECT_EQ(QueryOne("SELECT group_concat(id || v) FROM t").values, (std::vector<Row>{{std::string("1z,3z")}}));
}

TEST_F(SharedTransactionTest, RollbackConflictInABatchFallsBackToAutocommitSemantics) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY)"});
  // OR ROLLBACK would end a surrounding transaction and undo the first
  // insert; in autocommit only the failing statement is lost.
  Response r = db_->Execute(Req({"INSERT INTO t VALUES(1)", "INSERT OR ROLLBACK INTO t VALUES(1)",
                                 "INSERT INTO t VALUES(2)"}));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_TRUE(r.results[0].error.empty());
  EXPECT_FALSE(r.results[1].error.empty());
  EXPECT_TRUE(r.results[2].error.empty());
  EXPECT_EQ(QueryOne("SELECT COUNT(*) FROM t").values, (std::vector<Row>{{int64_t{2}}}));
}

TEST_F(SharedTransactionTest, TriggerRaisingRollbackInABatchFallsBackToAutocommitSemantics) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY)",
               "CREATE TRIGGER no_sevens BEFORE INSERT ON t WHEN NEW.id = 7 "
               "BEGIN SELECT RAISE(ROLLBACK, 'no sevens'); END"});
  Response r = db_->Execute(Req({"INSERT INTO t VALUES(1)", "INSERT INTO t VALUES(7)", "INSERT INTO t VALUES(2)"}));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_TRUE(r.results[0].error.empty());
  EXPECT_EQ(r.results[1].error, "no sevens");
  EXPECT_TRUE(r.results[2].error.empty());
  EXPECT_EQ(QueryOne("SELECT group_concat(id) FROM t").values, (std::vector<Row>{{std::string("1,2")}}));
}

TEST_F(SharedTransactionTest, DeferredForeignKeyViolationInABatchFailsOnlyItsStatement) {
  MustExecute({"PRAGMA foreign_keys=ON", "CREATE TABLE p (id INTEGER PRIMARY KEY)",
               "CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
               "INSERT INTO p VALUES(1)"});
  Response r = db_->Execute(Req({"INSERT INTO c VALUES(1)", "INSERT INTO c VALUES(99)", "INSERT INTO c VALUES(1)"}));
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_TRUE(r.results[0].error.empty());
  EXPECT_FALSE(r.results[1].error.empty()) << "autocommit checks the deferred key at the statement's commit";
  EXPECT_TRUE(r.results[2].error.empty());
  EXPECT_EQ(QueryOne("SELECT COUNT(*) FROM c").values, (std::vector<Row>{{int64_t{2}}}));
}


TEST_F(SharedTransactionTest, DeferredForeignKeyResolvedLaterInTheBatchStillFailsItsStatement) {
  MustExecute({"PRAGMA foreign_keys=ON", "CREATE TABLE p (id INTEGER PRIMARY KEY)",
               "CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)"});
  // In one transaction the second statement would satisfy the first's key
  // before COMMIT; autocommit checks it when the first one commits.
  Response r = db_->Execute(Req({"INSERT INTO c VALUES(99)", "INSERT INTO p VALUES(99)"}));
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].error, "FOREIGN KEY constraint failed");
  EXPECT_TRUE(r.results[1].error.empty()) << r.results[1].error;
  EXPECT_EQ(QueryOne("SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM p)").values,
            (std::vector<Row>{{int64_t{0}, int64_t{1}}}));
}

// The writes of a group, and the same writes one by one on a second
// database, seeded alike: the same results and the same rows.
TEST_F(SharedTransactionTest, GroupGivesEachWriteTheResultsItHasAlone) {
  const std::vector<std::string> schema = {
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, r INTEGER DEFAULT (random()))"};
  std::unique_ptr<Database> alone = OpenAt("alone.sqlite");
  MustExecute(schema);
  MustExecute(*alone, schema);
  std::vector<Request> requests = {
      Req({"INSERT INTO t(id, v) VALUES(1, 'a')"}),
      Req({"INSERT INTO t(v) VALUES('b')", "INSERT INTO t(v) VALUES(hex(randomblob(4)))"}),
      Req({"UPDATE t SET v = v || 'x' WHERE id <= 2", "DELETE FROM t WHERE id = 99"}),
      Req({"INSERT INTO t(v) VALUES('c') RETURNING id, v"}),
      Req({"REPLACE INTO t(id, v) VALUES(1, 'replaced')"}),
      Req({"UPDATE t SET v = 'y' WHERE id = 2"}),  // reports the last rowid inserted before it
  };
  std::vector<GroupedWrite> writes;
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(CanShareTransaction(requests[i])) << i;
    writes.push_back(GroupedWrite{&requests[i], /*as_request=*/i == 3, 1000 + i});
  }
  std::optional<std::vector<Response>> grouped = db_->ExecuteGroup(writes);
  ASSERT_TRUE(grouped.has_value());
  ASSERT_EQ(grouped->size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    alone->SeedRandom(writes[i].random_seed);
    Response single = writes[i].as_request ? alone->ExecuteOrQuery(requests[i]) : alone->Execute(requests[i]);
    const Response& together = (*grouped)[i];
    ASSERT_EQ(together.results.size(), single.results.size()) << i;
    for (size_t k = 0; k < single.results.size(); ++k) {
      const StatementResult& a = together.results[k];
      const StatementResult& b = single.results[k];
      EXPECT_EQ(a.error, b.error) << i << "/" << k;
      EXPECT_EQ(a.last_insert_id, b.last_insert_id) << i << "/" << k;
      EXPECT_EQ(a.rows_affected, b.rows_affected) << i << "/" << k;
      EXPECT_EQ(a.columns, b.columns) << i << "/" << k;
      EXPECT_EQ(a.values, b.values) << i << "/" << k;
    }
  }
  EXPECT_EQ((*grouped)[3].results[0].values, (std::vector<Row>{{int64_t{4}, std::string("c")}}));
  EXPECT_EQ((*grouped)[5].results[0].last_insert_id, 1);
  const std::string all = "SELECT group_concat(id || ':' || v || ':' || r, ',') FROM t";
  EXPECT_EQ(QueryOne(all).values, QueryOne(*alone, all).values);
}

TEST_F(SharedTransactionTest, GroupThatAWriteWouldUndoLeavesNothingBehind) {
  MustExecute({"PRAGMA foreign_keys=ON", "CREATE TABLE t (id INTEGER PRIMARY KEY)",
               "CREATE TABLE p (id INTEGER PRIMARY KEY)",
               "CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
               "INSERT INTO t VALUES(1)"});
  Request first = Req({"INSERT INTO t VALUES(2)"});
  for (const char* ender : {"INSERT OR ROLLBACK INTO t VALUES(1)",  // ends the transaction
                            "INSERT INTO c VALUES(7)"}) {           // leaves a deferred key pending
    Request second = Req({ender});
    Request third = Req({"INSERT INTO p VALUES(7)"});
    const GroupedWrite writes[] = {{&first, false, 1}, {&second, false, 2}, {&third, false, 3}};
    size_t breaker = 99;
    EXPECT_FALSE(db_->ExecuteGroup(writes, &breaker).has_value()) << ender;
    EXPECT_EQ(breaker, 1u) << ender;
    EXPECT_EQ(QueryOne("SELECT (SELECT group_concat(id) FROM t), (SELECT count(*) FROM p), "
                       "(SELECT count(*) FROM c)")
                  .values,
              (std::vector<Row>{{std::string("1"), int64_t{0}, int64_t{0}}}))
        << ender;
  }
  // And the writer is usable afterwards, outside any transaction.
  const GroupedWrite again[] = {{&first, false, 1}};
  std::optional<std::vector<Response>> responses = db_->ExecuteGroup(again);
  ASSERT_TRUE(responses.has_value());
  EXPECT_EQ((*responses)[0].results[0].last_insert_id, 2);
  MustExecute({"INSERT INTO t VALUES(3)"});
  EXPECT_EQ(QueryOne("SELECT group_concat(id) FROM t").values, (std::vector<Row>{{std::string("1,2,3")}}));
}

// A failed statement is left to autocommit: replicas group differently,
// and inside a transaction a failure does not always undo what it undoes
// alone. The run given up leaves no rows and no last rowid behind.
TEST_F(SharedTransactionTest, FailedStatementEndsAGroupWithoutTraces) {
  MustExecute({"CREATE TABLE t (id INTEGER PRIMARY KEY)", "INSERT INTO t VALUES(1)"});
  Request first = Req({"INSERT INTO t VALUES(5)"});
  Request failing = Req({"INSERT INTO t VALUES(1)"});
  Request third = Req({"INSERT INTO t VALUES(6)"});
  const GroupedWrite writes[] = {{&first, false, 1}, {&failing, false, 2}, {&third, false, 3}};
  size_t breaker = 99;
  EXPECT_FALSE(db_->ExecuteGroup(writes, &breaker).has_value());
  EXPECT_EQ(breaker, 1u);
  EXPECT_EQ(QueryOne("SELECT group_concat(id) FROM t").values, (std::vector<Row>{{std::string("1")}}));
  // An UPDATE reports the connection's last rowid: the one before the group.
  Response update = db_->Execute(Req({"UPDATE t SET id = id WHERE id = 1"}));
  ASSERT_EQ(update.results.size(), 1u);
  EXPECT_EQ(update.results[0].last_insert_id, 1);
}

// Applies `writes` the way the store does (store/store_apply.cc ApplyGroup):
// together, or, when the group is given up, the writes before the breaker
// together again, the breaker alone, and the rest together.
std::vector<Response> ApplyLikeTheStore(Database& db, std::span<const GroupedWrite> writes) {
  if (writes.empty()) return {};
  auto alone = [&db](const GroupedWrite& write) {
    db.SeedRandom(write.random_seed);
    return write.as_request ? db.ExecuteOrQuery(*write.request) : db.Execute(*write.request);
  };
  if (writes.size() == 1) return {alone(writes[0])};
  size_t breaker = 0;
  std::optional<std::vector<Response>> together = db.ExecuteGroup(writes, &breaker);
  if (together) return std::move(*together);
  const size_t k = std::min(breaker, writes.size() - 1);
  std::vector<Response> responses = ApplyLikeTheStore(db, writes.first(k));
  responses.push_back(alone(writes[k]));
  for (Response& r : ApplyLikeTheStore(db, writes.subspan(k + 1))) responses.push_back(std::move(r));
  return responses;
}

// The property the store relies on, over many random workloads: however
// the writes are cut into groups, every result and the final content are
// those of applying them one by one.
TEST_F(SharedTransactionTest, RandomGroupingsGiveTheResultsOfOneByOne) {
  const std::vector<std::string> schema = {
      "PRAGMA foreign_keys=ON",
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL UNIQUE, r INTEGER DEFAULT (random()))",
      "CREATE TABLE p (id INTEGER PRIMARY KEY)",
      "CREATE TABLE c (pid INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)",
      "CREATE TABLE log (id INTEGER PRIMARY KEY, what TEXT)",
      "CREATE TRIGGER no_sevens BEFORE INSERT ON t WHEN NEW.v = 7 BEGIN SELECT RAISE(ROLLBACK, 'no sevens'); END",
      "CREATE TRIGGER no_eights BEFORE UPDATE ON t WHEN NEW.v = 8 BEGIN SELECT RAISE(ABORT, 'no eights'); END",
      "CREATE TRIGGER logged AFTER INSERT ON t BEGIN INSERT INTO log(what) VALUES('t' || NEW.id); END"};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Random rng(seed);
    auto pick = [&rng](uint64_t n) { return std::to_string(rng.Uniform(n)); };
    auto random_statement = [&]() -> std::string {
      switch (rng.Uniform(9)) {
        case 0: return "INSERT INTO t(id, v) VALUES(" + pick(30) + ", " + pick(25) + ")";
        case 1: return "INSERT INTO t(v) VALUES(" + pick(25) + ")";
        case 2: return "UPDATE t SET v = v + 1 WHERE id = " + pick(30);
        case 3: return "DELETE FROM t WHERE id = " + pick(30);
        case 4: return "INSERT OR IGNORE INTO t(id, v) VALUES(" + pick(30) + ", " + pick(25) + ")";
        case 5: return "REPLACE INTO t(id, v) VALUES(" + pick(30) + ", " + pick(25) + ")";
        case 6: return "INSERT INTO c VALUES(" + pick(6) + ")";
        case 7: return "INSERT OR IGNORE INTO p VALUES(" + pick(6) + ")";
        default: return "INSERT INTO t(v) VALUES(" + pick(25) + ") RETURNING id, v, r";
      }
    };
    std::vector<Request> requests;
    for (int i = 0; i < 120; ++i) {
      std::vector<std::string> sqls;
      const uint64_t statements = 1 + rng.Uniform(3);
      for (uint64_t k = 0; k < statements; ++k) sqls.push_back(random_statement());
      requests.push_back(Req(std::move(sqls)));
    }
    std::vector<GroupedWrite> writes;
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSERT_TRUE(CanShareTransaction(requests[i])) << i;
      writes.push_back(GroupedWrite{&requests[i], rng.Uniform(2) == 0, seed * 1000 + i});
    }
    std::unique_ptr<Database> grouped = OpenAt("grouped-" + std::to_string(seed) + ".sqlite");
    std::unique_ptr<Database> alone = OpenAt("alone-" + std::to_string(seed) + ".sqlite");
    MustExecute(*grouped, schema);
    MustExecute(*alone, schema);
    std::vector<Response> together;
    for (size_t first = 0; first < writes.size();) {
      const size_t size = std::min<size_t>(1 + rng.Uniform(16), writes.size() - first);
      for (Response& r : ApplyLikeTheStore(*grouped, std::span(writes).subspan(first, size))) {
        together.push_back(std::move(r));
      }
      first += size;
    }
    ASSERT_EQ(together.size(), writes.size());
    for (size_t i = 0; i < writes.size(); ++i) {
      alone->SeedRandom(writes[i].random_seed);
      Response single = writes[i].as_request ? alone->ExecuteOrQuery(requests[i]) : alone->Execute(requests[i]);
      ASSERT_EQ(together[i].results.size(), single.results.size()) << seed << "/" << i;
      for (size_t k = 0; k < single.results.size(); ++k) {
        const StatementResult& a = together[i].results[k];
        const StatementResult& b = single.results[k];
        const std::string where = std::to_string(seed) + "/" + std::to_string(i) + "/" + std::to_string(k) + ": " +
                                  requests[i].statements[k].sql;
        ASSERT_EQ(a.error, b.error) << where;
        ASSERT_EQ(a.last_insert_id, b.last_insert_id) << where;
        ASSERT_EQ(a.rows_affected, b.rows_affected) << where;
        ASSERT_EQ(a.values, b.values) << where;
      }
    }
    for (const char* table : {"t", "p", "c", "log"}) {
      const std::string all = std::string("SELECT * FROM ") + table + " ORDER BY rowid";
      Response a = grouped->Query(Req({all}));
      Response b = alone->Query(Req({all}));
      ASSERT_EQ(a.results.at(0).values, b.results.at(0).values) << seed << " " << table;
    }
  }
}

TEST(ShareEligibilityTest, OneStatementMayShareButTransactionsAndEmptyRequestsMayNot) {
  Request one;
  one.statements.push_back(Statement{"INSERT INTO t VALUES(1)", {}, false});
  EXPECT_TRUE(CanShareTransaction(one));
  EXPECT_FALSE(CanBatchInOneTransaction(one));
  one.transaction = true;
  EXPECT_FALSE(CanShareTransaction(one));
  EXPECT_FALSE(CanShareTransaction(Request{}));
  Request select;
  select.statements.push_back(Statement{"SELECT 1", {}, false});
  EXPECT_FALSE(CanShareTransaction(select));
  // What the connection did before cannot be put back after a give-up.
  for (const char* sql : {"INSERT INTO t VALUES(changes())", "INSERT INTO t VALUES(Total_Changes())",
                          "UPDATE t SET a = last_insert_rowid()"}) {
    Request reads_connection;
    reads_connection.statements.push_back(Statement{sql, {}, false});
    EXPECT_FALSE(CanShareTransaction(reads_connection)) << sql;
  }
}

}  // namespace
}  // namespace rq::db
