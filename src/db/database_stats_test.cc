// Database::GetStats (what /status shows as store.sqlite3) and the db map
// of /debug/vars.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "base/test_dir.h"
#include "db/database.h"
#include "db/db_metrics.h"

namespace rq::db {
namespace {

using command::Request;
using command::Response;
using command::Statement;
using command::StatementResult;

class DatabaseStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("db_stats_test");
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / "db.sqlite").string(), Options{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static Request Req(std::vector<std::string> sqls, bool transaction = false) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    r.transaction = transaction;
    return r;
  }

  void MustExecute(std::vector<std::string> sqls) {
    Response r = db_->Execute(Req(std::move(sqls)));
    ASSERT_TRUE(r.error.empty()) << r.error;
    for (const StatementResult& s : r.results) ASSERT_TRUE(s.error.empty()) << s.error;
  }

  void QueryOne(const std::string& sql) {
    Response r = db_->Query(Req({sql}));
    EXPECT_TRUE(r.error.empty()) << r.error;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseStatsTest, StatsReportSizesAndPool) {
  MustExecute({"CREATE TABLE t (a)", "INSERT INTO t VALUES(randomblob(5000))"});
  QueryOne("SELECT count(*) FROM t");  // opens one pooled reader
  Result<Stats> stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->sqlite_version, sqlite3_libversion());
  EXPECT_EQ(stats->path, db_->path());
  EXPECT_GE(stats->db_size_bytes, 3u * 4096);
  EXPECT_EQ(stats->db_size_bytes, uint64_t(stats->mem_stats["page_count"] * stats->mem_stats["page_size"]));
  EXPECT_EQ(stats->mem_stats.size(), 7u);
  EXPECT_EQ(stats->mem_stats.count("freelist_count"), 1u);
  EXPECT_GT(stats->wal_size_bytes, 5000u);
  EXPECT_GT(stats->file_size_bytes, 0u);
  ASSERT_TRUE(stats->last_modified.has_value());
  EXPECT_LE(*stats->last_modified, std::chrono::system_clock::now());
  // GetStats reads on its own connection: the pool shows the query's reader only.
  EXPECT_EQ(stats->ro_pool.open_connections, 1u);
  EXPECT_EQ(stats->ro_pool.idle, 1u);
  EXPECT_EQ(stats->ro_pool.in_use, 0u);
  EXPECT_EQ(stats->ro_pool.max_open_connections, 256u);
  EXPECT_EQ(stats->rw_pool.max_open_connections, 1u);
  EXPECT_EQ(stats->rw_pool.open_connections, 1u);
  EXPECT_EQ(stats->rw_pool.in_use, 0u);
  EXPECT_FALSE(stats->rw_in_transaction);
  EXPECT_FALSE(stats->compile_options.empty());
  EXPECT_EQ(stats->rw_dsn, "file:" + db_->path() + "?_fk=false&_journal=WAL&_sync=0");
  EXPECT_EQ(stats->ro_dsn, "file:" + db_->path() + "?_query_only=true&mode=ro");
}

TEST_F(DatabaseStatsTest, StatsShowTheWriterPragmasAsOpened) {
  Result<Stats> stats = db_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rw_pragmas, (Pragmas{{"busy_timeout", "5000"},
                                        {"foreign_keys", "0"},
                                        {"journal_mode", "wal"},
                                        {"synchronous", "0"},
                                        {"wal_autocheckpoint", "0"}}));
  EXPECT_EQ(stats->ro_pragmas.at("journal_mode"), "wal");
  EXPECT_EQ(stats->ro_pragmas.at("busy_timeout"), "5000");
  // A checkpoint switches synchronous to FULL for its own duration only.
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->GetStats()->rw_pragmas.at("synchronous"), "0");
}

TEST_F(DatabaseStatsTest, StatsDoNotWaitForARunningWrite) {
  std::atomic<bool> write_done{false};
  std::thread writer([&] {
    // Seconds of work on the writer, holding its mutex throughout.
    db_->Execute(Req({"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 8000000) "
                      "SELECT count(*) FROM c"}));
    write_done = true;
  });
  bool saw_writer_busy = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!write_done && !saw_writer_busy && std::chrono::steady_clock::now() < deadline) {
    const auto start = std::chrono::steady_clock::now();
    Result<Stats> stats = db_->GetStats();
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
    saw_writer_busy = stats->rw_pool.in_use == 1;
  }
  EXPECT_TRUE(saw_writer_busy);
  EXPECT_FALSE(write_done.load()) << "the write was too short to show anything";
  writer.join();
  Result<Stats> after = db_->GetStats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->rw_pool.in_use, 0u);
}

TEST_F(DatabaseStatsTest, CountersFollowStatementsAndErrors) {
  DbMetrics& counters = DbCounters();
  const int64_t executions = counters.executions.value();
  const int64_t execution_errors = counters.execution_errors.value();
  const int64_t queries = counters.queries.value();
  const int64_t query_errors = counters.query_errors.value();
  const int64_t execute_transactions = counters.execute_transactions.value();
  const int64_t checkpoints = counters.checkpoints.value();
  db_->Execute(Req({"CREATE TABLE t (a)", "INSERT INTO nope VALUES(1)", "INSERT INTO t VALUES(1)"}));
  db_->Execute(Req({"INSERT INTO t VALUES(2)"}, true));
  db_->Query(Req({"SELECT * FROM t", "SELECT * FROM nope"}));
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(counters.executions.value() - executions, 4);
  EXPECT_EQ(counters.execution_errors.value() - execution_errors, 1);
  EXPECT_EQ(counters.execute_transactions.value() - execute_transactions, 1);
  EXPECT_EQ(counters.queries.value() - queries, 2);
  EXPECT_EQ(counters.query_errors.value() - query_errors, 1);
  EXPECT_EQ(counters.checkpoints.value() - checkpoints, 1);
}

}  // namespace
}  // namespace rq::db
