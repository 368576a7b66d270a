#include "wal/group_commit_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "wal/wal_test_util.h"

namespace rq::wal {
namespace {

// Delegates to a MemFileSystem but makes every file sync take a while, as a
// disk does, so that appenders pile up behind a running sync.
class SlowSyncFileSystem final : public env::FileSystem {
 public:
  explicit SlowSyncFileSystem(env::MemFileSystem* base) : base_(base) {}

  Result<std::unique_ptr<env::WritableFile>> NewWritableFile(const std::string& path, env::OpenMode mode) override {
    auto file = base_->NewWritableFile(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<env::WritableFile>(std::make_unique<SlowFile>(std::move(*file)));
  }
  Result<std::unique_ptr<env::WritableFile>> NewWritableFileAt(const std::string& path, uint64_t offset) override {
    auto file = base_->NewWritableFileAt(path, offset);
    if (!file.ok()) return file.status();
    return std::unique_ptr<env::WritableFile>(std::make_unique<SlowFile>(std::move(*file)));
  }
  Result<std::unique_ptr<env::RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_->NewRandomAccessFile(path);
  }
  Result<std::string> ReadFile(const std::string& path) override { return base_->ReadFile(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override { return base_->ListDir(dir); }
  Status DeleteFile(const std::string& path) override { return base_->DeleteFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override { return base_->RenameFile(from, to); }
  Status Truncate(const std::string& path, uint64_t size) override { return base_->Truncate(path, size); }
  Status CreateDir(const std::string& dir) override { return base_->CreateDir(dir); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }

 private:
  class SlowFile final : public env::WritableFile {
   public:
    explicit SlowFile(std::unique_ptr<env::WritableFile> base) : base_(std::move(base)) {}
    Status Append(std::string_view data) override { return base_->Append(data); }
    Status Sync() override {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    std::unique_ptr<env::WritableFile> base_;
  };
  env::MemFileSystem* base_;
};

TEST(GroupCommitLogTest, ConcurrentAppendersAreAllDurableWithFewerSyncs) {
  env::MemFileSystem mem;
  ASSERT_TRUE(mem.CreateDir("/wal").ok());
  SlowSyncFileSystem fs(&mem);
  Options options;
  options.segment_bytes_max = 4096;  // rollovers happen while others sync
  GroupCommitLog log(testing::MustOpen(&fs, "/wal", options));
  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 40;
  std::vector<std::vector<std::pair<LogIndex, std::string>>> acked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        Record record;
        record.term = Term(1);
        record.payload = "thread " + std::to_string(t) + " append " + std::to_string(i);
        auto index = log.AppendAndWait({record});
        ASSERT_TRUE(index.ok()) << index.status().ToString();
        EXPECT_GE(log.durable_index(), *index);  // returned only once durable
        acked[t].emplace_back(*index, record.payload);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  constexpr uint64_t kTotal = kThreads * kAppendsPerThread;
  EXPECT_EQ(log.last_index(), LogIndex(kTotal));
  EXPECT_LT(log.sync_count(), kTotal);  // batching happened
  mem.Crash();  // everything acknowledged must survive power loss
  auto wal = testing::MustOpen(&mem, "/wal", options);
  ASSERT_EQ(wal->last_index(), LogIndex(kTotal));
  std::set<uint64_t> seen;
  for (const auto& per_thread : acked) {
    for (const auto& [index, payload] : per_thread) {
      auto got = wal->Read(index, index + 1, UINT64_MAX);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ((*got)[0].payload, payload);
      seen.insert(index.value());
    }
  }
  EXPECT_EQ(seen.size(), kTotal);  // every index handed out once
}

TEST(GroupCommitLogTest, MultiRecordAppendGetsContiguousIndexes) {
  env::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/wal").ok());
  GroupCommitLog log(testing::MustOpen(&fs, "/wal"));
  auto first = log.AppendAndWait(testing::MakeRecords(100, 102, 1));  // indexes are reassigned
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, LogIndex(3));
  auto second = log.AppendAndWait(testing::MakeRecords(1, 1, 1));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, LogIndex(4));
  EXPECT_EQ(log.durable_index(), LogIndex(4));
}

TEST(GroupCommitLogTest, SyncFailureFailsEveryLaterAppend) {
  env::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/wal").ok());
  GroupCommitLog log(testing::MustOpen(&fs, "/wal"));
  ASSERT_TRUE(log.AppendAndWait(testing::MakeRecords(1, 1, 1)).ok());
  fs.FailNextSyncs(1);
  EXPECT_TRUE(log.AppendAndWait(testing::MakeRecords(1, 1, 1)).status().IsIOError());
  EXPECT_TRUE(log.AppendAndWait(testing::MakeRecords(1, 1, 1)).status().IsIOError());
  EXPECT_EQ(log.durable_index(), LogIndex(1));
}

}  // namespace
}  // namespace rq::wal
