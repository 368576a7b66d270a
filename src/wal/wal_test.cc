#include "wal/wal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "env/posix_file_system.h"

#include "wal/wal_test_util.h"

namespace rq::wal {
namespace {

using testing::MakeRecord;
using testing::MakeRecords;
using testing::MustOpen;
using testing::SegmentFiles;

// Runs every test with the read cache off (reads hit the files) and on.
class WalTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/wal").ok()); }
  std::unique_ptr<Wal> Open(uint64_t segment_bytes_max = 64ull << 20) {
    Options options;
    options.segment_bytes_max = segment_bytes_max;
    options.read_cache_bytes_max = GetParam();
    return MustOpen(&fs_, "/wal", options);
  }
  // Every index in [first, last] reads back equal to `expected`.
  void ExpectRecords(const Wal& wal, const std::vector<Record>& expected) {
    ASSERT_FALSE(expected.empty());
    auto got = wal.Read(expected.front().index, expected.back().index + 1, UINT64_MAX);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, expected);
  }
  env::MemFileSystem fs_;
};

TEST_P(WalTest, EmptyLogReportsZeroIndexes) {
  auto wal = Open();
  EXPECT_EQ(wal->first_index(), LogIndex(0));
  EXPECT_EQ(wal->last_index(), LogIndex(0));
  EXPECT_TRUE(wal->term_at(LogIndex(1)).status().IsNotFound());
  EXPECT_TRUE(wal->Read(LogIndex(1), LogIndex(2), 100).status().IsInvalidArgument());
  EXPECT_FALSE(wal->hard_state().has_value());
}

TEST_P(WalTest, AppendedRecordsReadBackEqual) {
  auto wal = Open();
  auto records = MakeRecords(1, 50, 3);
  records[7].payload = std::string(100000, 'x');  // a large payload
  records[8].payload.clear();                     // and an empty one
  ASSERT_TRUE(wal->Append(records).ok());
  EXPECT_EQ(wal->first_index(), LogIndex(1));
  EXPECT_EQ(wal->last_index(), LogIndex(50));
  ExpectRecords(*wal, records);
  EXPECT_EQ(*wal->term_at(LogIndex(50)), Term(3));
}

TEST_P(WalTest, ReadStopsAtMaxBytesButReturnsAtLeastOneRecord) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 10, 1, 100)).ok());
  auto one = wal->Read(LogIndex(1), LogIndex(11), 10);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto three = wal->Read(LogIndex(2), LogIndex(11), 350);
  ASSERT_TRUE(three.ok());
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0].index, LogIndex(2));
}

TEST_P(WalTest, ReadOutsideTheLogIsAnError) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 10, 1)).ok());
  ASSERT_TRUE(wal->CompactPrefix(LogIndex(3)).ok());
  EXPECT_TRUE(wal->Read(LogIndex(2), LogIndex(5), 100).status().IsNotFound());
  EXPECT_TRUE(wal->Read(LogIndex(5), LogIndex(12), 100).status().IsInvalidArgument());
  EXPECT_TRUE(wal->Read(LogIndex(5), LogIndex(5), 100).status().IsInvalidArgument());
}

TEST_P(WalTest, ReopenRecoversRecordsTermsAndHardState) {
  auto records = MakeRecords(1, 30, 2);
  HardState state{Term(2), "node-1", LogIndex(17)};
  {
    auto wal = Open(512);
    ASSERT_TRUE(wal->Append(records).ok());
    ASSERT_TRUE(wal->SaveHardState(state).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto wal = Open(512);
  EXPECT_EQ(wal->last_index(), LogIndex(30));
  EXPECT_EQ(wal->durable_index(), LogIndex(30));
  ExpectRecords(*wal, records);
  EXPECT_EQ(*wal->hard_state(), state);
  EXPECT_EQ(wal->recovery_report().records, 30u);
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 0u);
}

TEST_P(WalTest, RollsOverToANewSegmentAtSegmentBytesMax) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 40, 1, 50)).ok());
  auto files = SegmentFiles(&fs_, "/wal");
  ASSERT_GE(files.size(), 8u);
  EXPECT_EQ(files.front(), "00000000000000000001.wal");
  for (const auto& name : files) EXPECT_LE(*fs_.FileSize("/wal/" + name), 300u);
  ExpectRecords(*wal, MakeRecords(1, 40, 1, 50));
}

TEST_P(WalTest, OversizedRecordGetsASegmentOfItsOwn) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1, 1000)).ok());
  EXPECT_EQ(SegmentFiles(&fs_, "/wal").size(), 3u);
  ExpectRecords(*wal, MakeRecords(1, 3, 1, 1000));
}

TEST_P(WalTest, AppendAtLowerIndexReplacesTheSuffix) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 10, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  ASSERT_TRUE(wal->Append(MakeRecords(6, 8, 2)).ok());
  EXPECT_EQ(wal->last_index(), LogIndex(8));
  EXPECT_EQ(wal->durable_index(), LogIndex(5));  // the replaced part was durable, the new part is not
  auto expected = MakeRecords(1, 5, 1);
  for (auto& r : MakeRecords(6, 8, 2)) expected.push_back(r);
  ExpectRecords(*wal, expected);
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open();
  ExpectRecords(*wal, expected);
}

TEST_P(WalTest, SuffixTruncationAcrossSegmentBoundaries) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 40, 1, 50)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  size_t files_before = SegmentFiles(&fs_, "/wal").size();
  ASSERT_TRUE(wal->Append(MakeRecords(12, 14, 5, 50)).ok());
  EXPECT_LT(SegmentFiles(&fs_, "/wal").size(), files_before);
  auto expected = MakeRecords(1, 11, 1, 50);
  for (auto& r : MakeRecords(12, 14, 5, 50)) expected.push_back(r);
  ExpectRecords(*wal, expected);
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(300);
  EXPECT_EQ(wal->last_index(), LogIndex(14));
  ExpectRecords(*wal, expected);
}

TEST_P(WalTest, TruncationAtASegmentStartRemovesThatSegment) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 20, 1, 50)).ok());
  auto files = SegmentFiles(&fs_, "/wal");
  ASSERT_GE(files.size(), 2u);
  uint64_t second_first = ParseSegmentFileName(files[1])->value();
  ASSERT_TRUE(wal->Append({MakeRecord(second_first, 9, 50)}).ok());
  EXPECT_EQ(wal->last_index(), LogIndex(second_first));
  EXPECT_EQ(SegmentFiles(&fs_, "/wal").size(), 2u);
  EXPECT_EQ(*wal->term_at(LogIndex(second_first)), Term(9));
  EXPECT_EQ(*wal->term_at(LogIndex(second_first - 1)), Term(1));
}

TEST_P(WalTest, TruncatingEverythingThenAppendingAgainWorks) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
  ASSERT_TRUE(wal->Append(MakeRecords(1, 2, 2)).ok());
  ExpectRecords(*wal, MakeRecords(1, 2, 2));
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open();
  ExpectRecords(*wal, MakeRecords(1, 2, 2));
}

TEST_P(WalTest, InvalidAppendsAreRejected) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
  EXPECT_TRUE(wal->Append(MakeRecords(7, 8, 1)).IsInvalidArgument());  // gap
  std::vector<Record> holes = {MakeRecord(6, 1), MakeRecord(8, 1)};
  EXPECT_TRUE(wal->Append(holes).IsInvalidArgument());
  EXPECT_TRUE(wal->Append({MakeRecord(0, 1)}).IsInvalidArgument());
  ASSERT_TRUE(wal->CompactPrefix(LogIndex(3)).ok());
  EXPECT_TRUE(wal->Append(MakeRecords(3, 4, 2)).IsInvalidArgument());  // compacted
  EXPECT_TRUE(wal->Append({}).ok());
  EXPECT_EQ(wal->last_index(), LogIndex(5));  // nothing changed
}

TEST_P(WalTest, CompactPrefixDeletesOnlyWholeSegmentsBelow) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 40, 1, 50)).ok());
  auto files = SegmentFiles(&fs_, "/wal");
  uint64_t second_first = ParseSegmentFileName(files[1])->value();
  LogIndex through(second_first + 1);  // inside the second segment
  ASSERT_TRUE(wal->CompactPrefix(through).ok());
  EXPECT_EQ(wal->first_index(), through + 1);
  EXPECT_EQ(*wal->term_at(through), Term(1));
  EXPECT_EQ(SegmentFiles(&fs_, "/wal").size(), files.size() - 1);  // only the first went
  ExpectRecords(*wal, MakeRecords(through.value() + 1, 40, 1, 50));
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(300);
  EXPECT_EQ(wal->first_index(), through + 1);
  EXPECT_EQ(*wal->term_at(through), Term(1));
  ExpectRecords(*wal, MakeRecords(through.value() + 1, 40, 1, 50));
}

TEST_P(WalTest, CompactingEverythingLeavesAnEmptyLogAtTheNextIndex) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 20, 4, 50)).ok());
  ASSERT_TRUE(wal->CompactPrefix(LogIndex(20)).ok());
  EXPECT_EQ(wal->first_index(), LogIndex(21));
  EXPECT_EQ(wal->last_index(), LogIndex(20));
  EXPECT_EQ(*wal->term_at(LogIndex(20)), Term(4));
  EXPECT_TRUE(SegmentFiles(&fs_, "/wal").empty());
  wal = Open(300);
  EXPECT_EQ(wal->first_index(), LogIndex(21));
  EXPECT_EQ(wal->last_index(), LogIndex(20));
  EXPECT_TRUE(wal->Append(MakeRecords(22, 22, 4)).IsInvalidArgument());
  ASSERT_TRUE(wal->Append(MakeRecords(21, 25, 4)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(300);
  ExpectRecords(*wal, MakeRecords(21, 25, 4));
}

TEST_P(WalTest, ResetDropsEverythingAndContinuesAfterTheSnapshot) {
  auto wal = Open(300);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 30, 1, 50)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  ASSERT_TRUE(wal->Reset(LogIndex(12), Term(7)).ok());  // below the old last index
  EXPECT_EQ(wal->first_index(), LogIndex(13));
  EXPECT_EQ(wal->last_index(), LogIndex(12));
  EXPECT_EQ(*wal->term_at(LogIndex(12)), Term(7));
  EXPECT_TRUE(wal->term_at(LogIndex(11)).status().IsNotFound());
  EXPECT_TRUE(SegmentFiles(&fs_, "/wal").empty());
  ASSERT_TRUE(wal->Append(MakeRecords(13, 15, 8)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(300);
  EXPECT_EQ(wal->first_index(), LogIndex(13));
  ExpectRecords(*wal, MakeRecords(13, 15, 8));
}

TEST_P(WalTest, SyncMakesEverythingAppendedDurable) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  EXPECT_EQ(wal->durable_index(), LogIndex(0));
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ(wal->durable_index(), LogIndex(3));
  ASSERT_TRUE(wal->Append(MakeRecords(4, 6, 1)).ok());
  fs_.Crash();
  wal = Open();
  EXPECT_EQ(wal->last_index(), LogIndex(3));
  ExpectRecords(*wal, MakeRecords(1, 3, 1));
}

TEST_P(WalTest, WriteFailureBreaksTheWalUntilReopen) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  fs_.FailNextWrites(1);
  Status s = wal->Append(MakeRecords(4, 6, 1));
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(s.message().find("No space left"), std::string::npos);
  EXPECT_TRUE(wal->Append(MakeRecords(4, 6, 1)).IsIOError());
  EXPECT_TRUE(wal->Sync().IsIOError());
  wal = Open();
  EXPECT_EQ(wal->last_index(), LogIndex(3));
  ASSERT_TRUE(wal->Append(MakeRecords(4, 6, 1)).ok());
  ExpectRecords(*wal, MakeRecords(1, 6, 1));
}

TEST_P(WalTest, SyncFailureBreaksTheWal) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  fs_.FailNextSyncs(1);
  EXPECT_TRUE(wal->Sync().IsIOError());
  EXPECT_EQ(wal->durable_index(), LogIndex(0));
  EXPECT_TRUE(wal->SaveHardState({Term(1), "", LogIndex(0)}).IsIOError());
}

TEST_P(WalTest, HardStateReplacementIsAtomicAtEveryCrashPoint) {
  HardState old_state{Term(3), "a", LogIndex(10)};
  HardState new_state{Term(4), "bb", LogIndex(12)};
  for (int64_t ops = 0; ops < 10; ++ops) {
    env::MemFileSystem fs;
    ASSERT_TRUE(fs.CreateDir("/wal").ok());
    {
      auto wal = MustOpen(&fs, "/wal");
      ASSERT_TRUE(wal->SaveHardState(old_state).ok());
      fs.CrashAfterOps(ops);
      Status s = wal->SaveHardState(new_state);
      fs.Crash();
      auto reopened = MustOpen(&fs, "/wal");
      ASSERT_TRUE(reopened->hard_state().has_value());
      if (s.ok()) {
        EXPECT_EQ(*reopened->hard_state(), new_state);
      } else {
        EXPECT_TRUE(*reopened->hard_state() == old_state || *reopened->hard_state() == new_state);
      }
    }
  }
}

TEST_P(WalTest, DiskFullDuringHardStateSaveKeepsTheOldState) {
  HardState old_state{Term(3), "a", LogIndex(10)};
  auto wal = Open();
  ASSERT_TRUE(wal->SaveHardState(old_state).ok());
  fs_.FailNextWrites(1);
  Status s = wal->SaveHardState({Term(4), "b", LogIndex(11)});
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.ToString();
  fs_.Crash();
  wal = Open();
  EXPECT_EQ(*wal->hard_state(), old_state);
}

TEST(WalPosixTest, RecordsSurviveReopenOnTheRealDisk) {
  char tmpl[] = "/tmp/rq_wal_test_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  Options options;
  options.segment_bytes_max = 1000;
  options.read_cache_bytes_max = 0;
  {
    auto wal = MustOpen(env::DefaultFileSystem(), dir, options);
    ASSERT_TRUE(wal->Append(MakeRecords(1, 100, 1, 64)).ok());
    ASSERT_TRUE(wal->Append(MakeRecords(90, 95, 2, 64)).ok());
    ASSERT_TRUE(wal->CompactPrefix(LogIndex(20)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto wal = MustOpen(env::DefaultFileSystem(), dir, options);
  EXPECT_EQ(wal->first_index(), LogIndex(21));
  EXPECT_EQ(wal->last_index(), LogIndex(95));
  auto expected = MakeRecords(21, 89, 1, 64);
  for (auto& r : MakeRecords(90, 95, 2, 64)) expected.push_back(r);
  auto got = wal->Read(LogIndex(21), LogIndex(96), UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, expected);
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST_P(WalTest, CorruptHardStateRefusesToOpen) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->SaveHardState({Term(3), "a", LogIndex(10)}).ok());
  }
  ASSERT_TRUE(fs_.TEST_Corrupt("/wal/hardstate", 20, "\x01").ok());
  auto wal = Wal::Open(&fs_, "/wal", {});
  EXPECT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
}

TEST_P(WalTest, ReadReturnsCorruptionWhenBytesRotAfterOpen) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open();  // nothing cached: reads go to the file
  // Flip a payload byte of record 2 (header 40 + record 45 + its header 25).
  ASSERT_TRUE(fs_.TEST_Corrupt("/wal/00000000000000000001.wal", 40 + 45 + 25 + 3, "\xff").ok());
  auto got = wal->Read(LogIndex(1), LogIndex(4), UINT64_MAX);
  EXPECT_TRUE(got.status().IsCorruption()) << got.status().ToString();
  EXPECT_TRUE(wal->Read(LogIndex(1), LogIndex(2), UINT64_MAX).ok());
}

TEST(WalCacheTest, RecentRecordsAreServedFromMemory) {
  env::MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/wal").ok());
  Options options;
  options.read_cache_bytes_max = 100;  // room for the last 5 records of 20 bytes
  auto wal = MustOpen(&fs, "/wal", options);
  ASSERT_TRUE(wal->Append(MakeRecords(1, 10, 1)).ok());
  // Rot every payload on disk: cached records still read, older ones fail.
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(fs.TEST_Corrupt("/wal/00000000000000000001.wal", 40 + i * 45 + 30, "#").ok());
  auto recent = wal->Read(LogIndex(6), LogIndex(11), UINT64_MAX);
  ASSERT_TRUE(recent.ok()) << recent.status().ToString();
  EXPECT_EQ(*recent, MakeRecords(6, 10, 1));
  EXPECT_TRUE(wal->Read(LogIndex(5), LogIndex(6), UINT64_MAX).status().IsCorruption());
  // A truncation drops the replaced records from the cache too.
  ASSERT_TRUE(wal->Append(MakeRecords(9, 9, 2)).ok());
  auto after = wal->Read(LogIndex(8), LogIndex(10), UINT64_MAX);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[1], MakeRecord(9, 2));
}

INSTANTIATE_TEST_SUITE_P(CacheOffAndOn, WalTest, ::testing::Values(0, 4ull << 20));

}  // namespace
}  // namespace rq::wal
