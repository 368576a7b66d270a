#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "store/store_metrics.h"
#include "store/write_queue.h"

namespace rq::store {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("rq-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

StoreOptions TestOptions(const std::string& dir) {
  StoreOptions options;
  options.data_dir = dir;
  options.node_id = NodeId("1");
  options.raft_addr = "127.0.0.1:4002";
  options.api_addr = "127.0.0.1:4001";
  options.tick = 10ms;
  options.snapshot_interval = 100ms;
  return options;
}

std::unique_ptr<Store> OpenStarted(const StoreOptions& options) {
  auto store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  EXPECT_TRUE((*store)->Start(true).ok());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!(*store)->is_leader() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE((*store)->is_leader());
  return std::move(store).value();
}

command::Request Sql(std::vector<std::string> statements, bool transaction = false) {
  command::Request request;
  for (auto& sql : statements) request.statements.push_back(command::Statement{std::move(sql), {}, false});
  request.transaction = transaction;
  return request;
}

Result<command::Response> ExecuteSync(Store& store, command::Request request) {
  std::promise<Result<command::Response>> promise;
  store.Execute(std::move(request), WriteOptions{}, [&](Result<command::Response> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

Result<command::Response> QuerySync(Store& store, command::Request request,
                                    command::Consistency level = command::Consistency::kWeak) {
  std::promise<Result<command::Response>> promise;
  ReadOptions options;
  options.level = level;
  store.Query(std::move(request), options, [&](Result<command::Response> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

int64_t CountRows(Store& store, command::Consistency level = command::Consistency::kWeak) {
  auto response = QuerySync(store, Sql({"SELECT COUNT(*) FROM foo"}), level);
  EXPECT_TRUE(response.ok());
  if (!response.ok() || response->results.empty() || response->results[0].values.empty()) return -1;
  return std::get<int64_t>(response->results[0].values[0][0]);
}

TEST(StoreTest, SingleNodeWritesAndReadsAtEveryLevel) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_NE(store, nullptr);
  auto created = ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto inserted = ExecuteSync(*store, Sql({"INSERT INTO foo(name) VALUES(\"fiona\")"}));
  ASSERT_TRUE(inserted.ok());
  ASSERT_EQ(inserted->results.size(), 1u);
  EXPECT_EQ(inserted->results[0].last_insert_id, 1);
  EXPECT_EQ(inserted->results[0].rows_affected, 1);
  EXPECT_GT(inserted->raft_index, created->raft_index);
  for (auto level : {command::Consistency::kNone, command::Consistency::kWeak, command::Consistency::kLinearizable,
                     command::Consistency::kStrong, command::Consistency::kAuto}) {
    EXPECT_EQ(CountRows(*store, level), 1) << static_cast<int>(level);
  }
  store->Stop();
}

TEST(StoreTest, DisallowedPragmaIsRefusedForTheWholeRequest) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_NE(store, nullptr);
  auto response = ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER)", "PRAGMA journal_mode=DELETE"}));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->error, "disallowed pragma");
  EXPECT_TRUE(response->results.empty());
  auto check = QuerySync(*store, Sql({"SELECT name FROM sqlite_master"}));
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->results[0].values.empty()) << "nothing of the refused request may run";
}

TEST(StoreTest, RestartReplaysTheLogExactlyOnce) {
  TempDir dir;
  {
    auto store = OpenStarted(TestOptions(dir.path()));
    ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok());
    store->Stop();
  }
  for (int restart = 0; restart < 3; ++restart) {
    auto store = OpenStarted(TestOptions(dir.path()));
    ASSERT_NE(store, nullptr);
    // Wait until the replayed entries are applied: a write after them.
    ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(2)"})).ok());
    EXPECT_EQ(CountRows(*store), 51 + restart);
    store->Stop();
  }
}

// A write without db_timeout can run for hours; Stop must not wait for it.
// What it abandons is applied again, once, at the next start.
TEST(StoreTest, StopAbandonsALongWriteWhichTheNextStartAppliesOnce) {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.apply_drain_grace = 100ms;
  const std::string long_insert =
      "INSERT INTO foo(v) SELECT 2 FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
      "SELECT x FROM c LIMIT 3000000)";
  {
    auto store = OpenStarted(options);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
    std::promise<Result<command::Response>> answered;
    // Not a ?transaction: the first statement commits by itself before the
    // long one starts, and must not be there twice after the replay.
    store->Execute(Sql({"INSERT INTO foo(v) VALUES(1)", long_insert}), WriteOptions{},
                   [&](Result<command::Response> r) { answered.set_value(std::move(r)); });
    std::this_thread::sleep_for(300ms);  // well into the write (about 2 s alone)
    const auto stop_started = std::chrono::steady_clock::now();
    store->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 30s) << "Stop waited for the write";
    Result<command::Response> r = answered.get_future().get();
    EXPECT_FALSE(r.ok()) << "an abandoned write is not acknowledged";
  }
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(3)"})).ok());  // after the replay
  auto counts = QuerySync(*store, Sql({"SELECT v, count(*) FROM foo GROUP BY v ORDER BY v"}));
  ASSERT_TRUE(counts.ok());
  using Row = std::vector<command::Value>;
  EXPECT_EQ(counts->results[0].values,
            (std::vector<Row>{{int64_t{1}, int64_t{1}}, {int64_t{2}, int64_t{3000000}}, {int64_t{3}, int64_t{1}}}));
  store->Stop();
}

TEST(StoreTest, SnapshotCompactsAndRestartKeepsEverything) {
  TempDir dir;
  {
    auto store = OpenStarted(TestOptions(dir.path()));
    ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok());
    auto taken = store->Snapshot(0);
    ASSERT_TRUE(taken.ok()) << taken.status().ToString();
    EXPECT_TRUE(*taken);
    auto again = store->Snapshot(0);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(*again) << "nothing new since the last snapshot";
    EXPECT_GE(store->status().snapshot_index.value(), 21u);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok());
    store->Stop();
  }
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok());
  EXPECT_EQ(CountRows(*store), 26);
}

TEST(StoreTest, EntryCountTriggersAutomaticSnapshot) {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.snapshot_entries = 10;
  auto store = OpenStarted(options);
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (store->status().snapshots_taken == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(store->status().snapshots_taken, 0u);
}

TEST(StoreTest, ConcurrentWritersAreAllAppliedOnce) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)"})).ok()) ++ok;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(CountRows(*store), 200);
}

// Writes committed while the apply thread is busy are applied in groups
// sharing one SQLite transaction (Store::ApplyGroup); each writer still gets
// what its write alone would have given, a group a ROLLBACK conflict clause
// would undo is applied again one by one, and a restart replaying them all
// singly ends with the same rows.
TEST(StoreTest, WritesAppliedTogetherAnswerAsIfAppliedAlone) {
  TempDir dir;
  const StoreOptions options = TestOptions(dir.path());
  constexpr int kWrites = 300;
  auto is_duplicate = [](int k) { return k % 10 == 9; };      // repeats id k - 1
  auto rolls_back = [](int k) { return k % 50 == 29; };       // a trigger's RAISE(ROLLBACK)
  {
    auto store = OpenStarted(options);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)",
                                         "CREATE TABLE slow (n INTEGER)",
                                         "CREATE TRIGGER no_sevens BEFORE INSERT ON foo WHEN NEW.v = 7 "
                                         "BEGIN SELECT RAISE(ROLLBACK, 'no sevens'); END"}))
                    .ok());
    const int64_t groups_before = StoreCounters().num_apply_groups.value();
    const int64_t fallbacks_before = StoreCounters().num_apply_group_fallbacks.value();
    // Keeps the apply thread busy while the writes below commit.
    std::promise<Result<command::Response>> slow_done;
    store->Execute(Sql({"INSERT INTO slow SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                        "SELECT x + 1 FROM c) SELECT x FROM c LIMIT 1000000)"}),
                   WriteOptions{}, [&](Result<command::Response> r) { slow_done.set_value(std::move(r)); });
    std::vector<std::promise<Result<command::Response>>> answered(kWrites);
    for (int k = 0; k < kWrites; ++k) {
      std::string sql;
      if (rolls_back(k)) {
        sql = "INSERT INTO foo(id, v) VALUES(" + std::to_string(k) + ", 7)";
      } else if (is_duplicate(k)) {
        sql = "INSERT INTO foo(id, v) VALUES(" + std::to_string(k - 1) + ", 0)";
      } else {
        sql = "INSERT INTO foo(id, v) VALUES(" + std::to_string(k) + ", 1)";
      }
      store->Execute(Sql({sql}), WriteOptions{},
                     [&answered, k](Result<command::Response> r) { answered[k].set_value(std::move(r)); });
    }
    ASSERT_TRUE(slow_done.get_future().get().ok());
    int inserted = 0;
    for (int k = 0; k < kWrites; ++k) {
      Result<command::Response> r = answered[k].get_future().get();
      ASSERT_TRUE(r.ok()) << k << ": " << r.status().ToString();
      ASSERT_EQ(r->results.size(), 1u) << k;
      const command::StatementResult& result = r->results[0];
      if (rolls_back(k)) {
        EXPECT_EQ(result.error, "no sevens") << k;
      } else if (is_duplicate(k)) {
        EXPECT_EQ(result.error, "UNIQUE constraint failed: foo.id") << k;
      } else {
        EXPECT_EQ(result.error, "") << k;
        EXPECT_EQ(result.last_insert_id, k) << k;
        EXPECT_EQ(result.rows_affected, 1) << k;
        ++inserted;
      }
    }
    EXPECT_EQ(CountRows(*store), inserted);
    EXPECT_GT(StoreCounters().num_apply_groups.value(), groups_before);
    EXPECT_GT(StoreCounters().num_apply_group_fallbacks.value(), fallbacks_before);
    store->Stop();
  }
  auto store = OpenStarted(options);
  ASSERT_NE(store, nullptr);
  // Strong: answered once the replayed entries are applied again.
  auto rows = QuerySync(*store, Sql({"SELECT count(*), sum(id), sum(v) FROM foo"}), command::Consistency::kStrong);
  ASSERT_TRUE(rows.ok());
  int64_t count = 0;
  int64_t id_sum = 0;
  for (int k = 0; k < kWrites; ++k) {
    if (!rolls_back(k) && !is_duplicate(k)) {
      ++count;
      id_sum += k;
    }
  }
  using Row = std::vector<command::Value>;
  EXPECT_EQ(rows->results[0].values, (std::vector<Row>{{count, id_sum, count}}));
  store->Stop();
}

TEST(StoreTest, QueuedWritesCommitAndWaitFlushes) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
  WriteQueue queue(store.get(), WriteQueueOptions{});
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    auto sequence = queue.Enqueue(Sql({"INSERT INTO foo(v) VALUES(1)"}), WriteOptions{}, 1s);
    ASSERT_TRUE(sequence.ok());
    EXPECT_GT(*sequence, last);
    last = *sequence;
  }
  std::promise<Status> flushed;
  queue.WaitForFlush(5s, [&](Status s) { flushed.set_value(s); });
  EXPECT_TRUE(flushed.get_future().get().ok());
  EXPECT_GE(queue.committed_sequence(), last);
  EXPECT_EQ(CountRows(*store), 10);
  queue.Stop();
}

TEST(StoreTest, StatusTellsTheLastAppliedAndTheLastDatabaseChange) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  StoreStatus before = store->status();
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
  StoreStatus written = store->status();
  EXPECT_GT(written.applied, before.applied);
  EXPECT_EQ(written.db_applied, written.applied);
  EXPECT_EQ(written.applied_term, written.raft.term);
  EXPECT_EQ(written.raft.last_term, written.raft.term);
  ASSERT_TRUE(written.applied_at.has_value());
  // A strong read goes through the log without changing the database.
  ASSERT_TRUE(QuerySync(*store, Sql({"SELECT COUNT(*) FROM foo"}), command::Consistency::kStrong).ok());
  StoreStatus read = store->status();
  EXPECT_GT(read.applied, written.applied);
  EXPECT_EQ(read.db_applied, written.db_applied);
  EXPECT_GE(*read.applied_at, *written.applied_at);
}

TEST(StoreTest, SnapshotsAndQueuedStatementsAreCounted) {
  TempDir dir;
  auto store = OpenStarted(TestOptions(dir.path()));
  StoreMetrics& counters = StoreCounters();
  QueueMetrics& queue_counters = QueueCounters();
  const int64_t user_snapshots = counters.num_user_snapshots.value();
  const int64_t snapshots = counters.num_snapshots.value();
  const int64_t rx = queue_counters.objects_rx.value();
  const int64_t tx = queue_counters.objects_tx.value();
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
  ASSERT_TRUE(store->Snapshot(0).ok());
  EXPECT_EQ(counters.num_user_snapshots.value() - user_snapshots, 1);
  EXPECT_GE(counters.num_snapshots.value() - snapshots, 1);
  WriteQueue queue(store.get(), WriteQueueOptions{});
  ASSERT_TRUE(queue.Enqueue(Sql({"INSERT INTO foo(v) VALUES(1)", "INSERT INTO foo(v) VALUES(2)"}), WriteOptions{}, 1s)
                  .ok());
  std::promise<Status> flushed;
  queue.WaitForFlush(5s, [&](Status s) { flushed.set_value(s); });
  EXPECT_TRUE(flushed.get_future().get().ok());
  EXPECT_EQ(queue_counters.objects_rx.value() - rx, 2);
  EXPECT_EQ(queue_counters.objects_tx.value() - tx, 2);
  queue.Stop();
}

}  // namespace
}  // namespace rq::store

namespace rq::store {
namespace {

TEST(StoreTest, AutomaticVacuumAndOptimizeRunOnTheApplyThreadAndShrinkTheFile) {
  TempDir dir;
  StoreOptions options = TestOptions(dir.path());
  options.auto_vacuum_interval = 300ms;
  options.auto_optimize_interval = 300ms;
  StoreMetrics& counters = StoreCounters();
  const int64_t vacuums = counters.num_auto_vacuums.value();
  const int64_t optimizes = counters.num_auto_optimizes.value();
  auto store = OpenStarted(options);
  ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v TEXT)"})).ok());
  ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) SELECT hex(zeroblob(1000)) FROM "
                                       "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                                       "WHERE x < 2000) SELECT x FROM c)"}))
                  .ok());
  ASSERT_TRUE(store->Snapshot(0).ok());
  const auto full = std::filesystem::file_size(dir.path() + "/db.sqlite");
  ASSERT_TRUE(ExecuteSync(*store, Sql({"DELETE FROM foo WHERE id > 10"})).ok());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((counters.num_auto_vacuums.value() == vacuums || counters.num_auto_optimizes.value() == optimizes) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GT(counters.num_auto_vacuums.value(), vacuums);
  EXPECT_GT(counters.num_auto_optimizes.value(), optimizes);
  ASSERT_TRUE(store->Snapshot(0).ok());  // checkpoints the vacuumed pages into the file
  EXPECT_LT(std::filesystem::file_size(dir.path() + "/db.sqlite"), full / 4);
  EXPECT_EQ(CountRows(*store), 10);
  store->Stop();
  // The times survive a restart: the file records them.
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/raft/maintenance"));
}

// Records what the store tells change data capture, in call order.
class RecordingListener final : public ChangeListener {
 public:
  Status OnChanges(LogIndex index, std::vector<command::RowChange> rows) override {
    std::lock_guard lock(mu);
    calls.push_back("rows@" + std::to_string(index.value()) + ":" + std::to_string(rows.size()));
    return Status::OK();
  }
  void OnHighWaterMark(LogIndex index) override {
    std::lock_guard lock(mu);
    calls.push_back("mark:" + std::to_string(index.value()));
  }
  Status BeforeSnapshot(LogIndex index) override {
    std::lock_guard lock(mu);
    calls.push_back("snapshot@" + std::to_string(index.value()));
    return Status::OK();
  }
  std::vector<std::string> Calls() {
    std::lock_guard lock(mu);
    return calls;
  }
  std::mutex mu;
  std::vector<std::string> calls;
};

TEST(StoreTest, ChangeListenerHearsRowsMarksAndSnapshotsInApplyOrder) {
  TempDir dir;
  RecordingListener listener;
  StoreOptions options = TestOptions(dir.path());
  options.capture.enabled = true;
  options.change_listener = &listener;
  uint64_t insert_index = 0;
  {
    auto store = OpenStarted(options);
    ASSERT_TRUE(ExecuteSync(*store, Sql({"CREATE TABLE foo (id INTEGER PRIMARY KEY, v INTEGER)"})).ok());
    auto inserted = ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(1)", "INSERT INTO foo(v) VALUES(2)"}));
    ASSERT_TRUE(inserted.ok());
    insert_index = inserted->raft_index;
    // A failed write captures nothing.
    ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(id, v) VALUES(1, 9)"})).ok());
    std::promise<Status> marked;
    store->ProposeCdcHighWaterMark(LogIndex(insert_index), [&](Status s) { marked.set_value(s); });
    ASSERT_TRUE(marked.get_future().get().ok());
    auto taken = store->Snapshot(0);
    ASSERT_TRUE(taken.ok()) << taken.status().ToString();
    // The mark is no database change.
    EXPECT_EQ(store->status().db_applied.value(), insert_index + 1);
    store->Stop();
  }
  const std::vector<std::string> calls = listener.Calls();
  ASSERT_EQ(calls.size(), 3u) << ::testing::PrintToString(calls);
  EXPECT_EQ(calls[0], "rows@" + std::to_string(insert_index) + ":2");
  EXPECT_EQ(calls[1], "mark:" + std::to_string(insert_index));
  EXPECT_EQ(calls[2].rfind("snapshot@", 0), 0u);
  // Nothing is replayed after the snapshot, so a restart repeats no rows.
  listener.calls.clear();
  auto store = OpenStarted(options);
  ASSERT_TRUE(ExecuteSync(*store, Sql({"INSERT INTO foo(v) VALUES(3)"})).ok());
  ASSERT_EQ(listener.Calls().size(), 1u) << ::testing::PrintToString(listener.Calls());
  EXPECT_EQ(listener.Calls()[0].substr(listener.Calls()[0].size() - 2), ":1");
}

}  // namespace
}  // namespace rq::store
