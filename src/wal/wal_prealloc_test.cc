// Preallocated segments: spare files, appends that overwrite zeros, the zero
// tail as a clean end, and crash safety of the rollover that renames a spare.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "base/random.h"
#include "env/posix_file_system.h"
#include "wal/wal.h"
#include "wal/wal_format.h"
#include "wal/wal_test_util.h"

namespace rq::wal {
namespace {

using testing::MakeRecord;
using testing::MakeRecords;
using testing::MustOpen;
using testing::SegmentFiles;

constexpr uint64_t kSegmentBytes = 1000;
constexpr uint64_t kRecordBytes = format::kRecordHeaderBytes + 20;  // MakeRecords' default payload
const std::string kDir = "/wal";
const std::string kSpare = "/wal/prealloc.spare";
const std::string kFirst = "/wal/00000000000000000001.wal";

Options Prealloc(Preallocation mode = Preallocation::kInline, uint64_t segment_bytes = kSegmentBytes) {
  Options options;
  options.segment_bytes_max = segment_bytes;
  options.preallocation = mode;
  options.read_cache_bytes_max = 0;  // reads go to the files
  return options;
}

bool AllZero(const std::string& bytes) {
  return bytes.find_first_not_of('\0') == std::string::npos;
}

class WalPreallocTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir(kDir).ok()); }
  std::unique_ptr<Wal> Open(Options options = Prealloc()) { return MustOpen(&fs_, kDir, options); }
  Result<std::unique_ptr<Wal>> TryOpen(Options options = Prealloc()) { return Wal::Open(&fs_, kDir, options); }
  void ExpectLog(const Wal& wal, const std::vector<Record>& expected) {
    ASSERT_EQ(wal.last_index(), expected.back().index);
    auto got = wal.Read(expected.front().index, expected.back().index + 1, UINT64_MAX);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, expected);
  }
  std::string Content(const std::string& path) { return *fs_.ReadFile(path); }

  env::MemFileSystem fs_;
};

TEST_F(WalPreallocTest, ZeroRecordHeaderIsNeverAValidRecord) {
  std::string encoded;
  EncodeRecord(Record{LogIndex(0), Term(0), 0, ""}, &encoded);
  // The masked CRC of an all-zero header is not zero, so 25 zero bytes fail
  // the CRC (and index 0 is no log index either).
  EXPECT_NE(encoded.substr(format::kRecordCrcOffset, 4), std::string(4, '\0'));
  EXPECT_TRUE(DecodeRecord(std::string(format::kRecordHeaderBytes, '\0'), LogIndex(0)).status().IsCorruption());
}

TEST_F(WalPreallocTest, SegmentsComeFromZeroFilledSparesAndNeverGrow) {
  auto wal = Open();
  ASSERT_TRUE(fs_.FileExists(kSpare));
  EXPECT_EQ(Content(kSpare), std::string(kSegmentBytes, '\0'));
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ(*fs_.FileSize(kFirst), kSegmentBytes);  // the spare, renamed
  // The next one is made once this segment is half full: an idle log keeps
  // one preallocated file.
  EXPECT_FALSE(fs_.FileExists(kSpare));
  uint64_t i = 4;
  for (; format::kSegmentHeaderBytes + i * kRecordBytes < kSegmentBytes / 2; ++i) {
    ASSERT_TRUE(wal->Append({MakeRecord(i, 1)}).ok());
  }
  EXPECT_FALSE(fs_.FileExists(kSpare));
  ASSERT_TRUE(wal->Append({MakeRecord(i, 1)}).ok());
  EXPECT_EQ(Content(kSpare), std::string(kSegmentBytes, '\0'));  // past half: made (inline)
  ASSERT_TRUE(wal->Sync().ok());
  for (++i; i <= 60; ++i) {
    ASSERT_TRUE(wal->Append({MakeRecord(i, 1)}).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto files = SegmentFiles(&fs_, kDir);
  ASSERT_GE(files.size(), 3u);
  for (const auto& name : files) EXPECT_EQ(*fs_.FileSize(kDir + "/" + name), kSegmentBytes) << name;
  ExpectLog(*wal, MakeRecords(1, 60, 1));
}

TEST_F(WalPreallocTest, ReopenContinuesAfterTheLastRecordNotAtTheFileEnd) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto wal = Open();
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 0u);
  ExpectLog(*wal, MakeRecords(1, 5, 1));
  ASSERT_TRUE(wal->Append(MakeRecords(6, 7, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ(*fs_.FileSize(kFirst), kSegmentBytes);
  std::string content = Content(kFirst);
  uint64_t end = format::kSegmentHeaderBytes + 7 * kRecordBytes;
  EXPECT_TRUE(AllZero(content.substr(end)));
  wal = Open();
  ExpectLog(*wal, MakeRecords(1, 7, 1));
}

TEST_F(WalPreallocTest, SealedSegmentsKeepTheirZeroTail) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 60, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto files = SegmentFiles(&fs_, kDir);
  ASSERT_GE(files.size(), 3u);
  std::string sealed = Content(kDir + "/" + files[0]);
  EXPECT_EQ(sealed.size(), kSegmentBytes);
  uint64_t records = (kSegmentBytes - format::kSegmentHeaderBytes) / kRecordBytes;
  EXPECT_TRUE(AllZero(sealed.substr(format::kSegmentHeaderBytes + records * kRecordBytes)));
  auto wal = Open();
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 0u);
  EXPECT_EQ(wal->recovery_report().segments, files.size());
  ExpectLog(*wal, MakeRecords(1, 60, 1));
}

TEST_F(WalPreallocTest, TornRecordFollowedByZerosIsDroppedAndZeroed) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  std::string sixth;
  EncodeRecord(MakeRecord(6, 1), &sixth);
  uint64_t end = format::kSegmentHeaderBytes + 5 * kRecordBytes;
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, end, sixth.substr(0, 30)).ok());  // a prefix reached the disk
  auto wal = Open();
  ExpectLog(*wal, MakeRecords(1, 5, 1));
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 30u);
  EXPECT_NE(wal->recovery_report().tail_damage.find("offset " + std::to_string(end)), std::string::npos);
  EXPECT_EQ(*fs_.FileSize(kFirst), kSegmentBytes);  // zeroed in place, not cut
  EXPECT_TRUE(AllZero(fs_.TEST_DurableContent(kFirst)->substr(end)));  // and synced
  wal.reset();
  wal = Open();
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 0u);  // nothing left to repair
  ASSERT_TRUE(wal->Append(MakeRecords(6, 6, 2)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open();
  auto expected = MakeRecords(1, 5, 1);
  expected.push_back(MakeRecord(6, 2));
  ExpectLog(*wal, expected);
}

TEST_F(WalPreallocTest, GarbageAfterTheZerosOfTheLastSegmentIsATornTail) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, 900, "garbage").ok());
  auto wal = Open();
  ExpectLog(*wal, MakeRecords(1, 5, 1));
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 907u - (format::kSegmentHeaderBytes + 5 * kRecordBytes));
  EXPECT_NE(wal->recovery_report().tail_damage.find("zero record header"), std::string::npos)
      << wal->recovery_report().tail_damage;
  EXPECT_TRUE(AllZero(Content(kFirst).substr(format::kSegmentHeaderBytes + 5 * kRecordBytes)));
  EXPECT_EQ(*fs_.FileSize(kFirst), kSegmentBytes);
}

TEST_F(WalPreallocTest, GarbageAfterTheZerosOfASealedSegmentIsCorruption) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 60, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto files = SegmentFiles(&fs_, kDir);
  ASSERT_GE(files.size(), 2u);
  ASSERT_TRUE(fs_.TEST_Corrupt(kDir + "/" + files[0], kSegmentBytes - 3, "x").ok());
  auto wal = TryOpen();
  ASSERT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
  EXPECT_NE(wal.status().message().find(files[0]), std::string::npos);
}

TEST_F(WalPreallocTest, ValidRecordAfterAZeroHoleIsCorruption) {
  {
    auto wal = Open();
    ASSERT_TRUE(wal->Append(MakeRecords(1, 5, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  std::string sixth;
  EncodeRecord(MakeRecord(6, 1), &sixth);
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, format::kSegmentHeaderBytes + 5 * kRecordBytes + 50, sixth).ok());
  auto wal = TryOpen();
  ASSERT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
  EXPECT_NE(wal.status().message().find("a valid record follows"), std::string::npos);
}

TEST_F(WalPreallocTest, HalfFilledSpareLeftByACrashIsReplaced) {
  ASSERT_TRUE(fs_.WriteFileAtomic(kSpare, std::string(300, '\0')).ok());  // died while zero-filling
  auto wal = Open();
  EXPECT_EQ(Content(kSpare), std::string(kSegmentBytes, '\0'));
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  EXPECT_EQ(*fs_.FileSize(kFirst), kSegmentBytes);
}

TEST_F(WalPreallocTest, SpareHoldingAnUnrenamedSegmentIsReplaced) {
  // A rollover wrote a header and records into the spare, but the rename
  // never reached the disk: the spare is not zero and must not be reused.
  std::string stale = EncodeSegmentHeader({0, LogIndex(1)});
  EncodeRecord(MakeRecord(1, 1), &stale);
  stale.resize(kSegmentBytes, '\0');
  ASSERT_TRUE(fs_.WriteFileAtomic(kSpare, stale).ok());
  auto wal = Open();
  EXPECT_EQ(wal->last_index(), LogIndex(0));
  EXPECT_EQ(Content(kSpare), std::string(kSegmentBytes, '\0'));
}

TEST_F(WalPreallocTest, WholeZeroSpareFromAnEarlierRunIsReused) {
  ASSERT_TRUE(fs_.WriteFileAtomic(kSpare, std::string(kSegmentBytes, '\0')).ok());
  int64_t before = fs_.op_count();
  auto wal = Open();
  // Sync the directory at open, then sync the leftover spare and the
  // directory again: no zero-filling writes.
  EXPECT_EQ(fs_.op_count() - before, 3);
  EXPECT_EQ(Content(kSpare), std::string(kSegmentBytes, '\0'));
}

TEST_F(WalPreallocTest, FailedSpareFallsBackToGrowingSegmentsAndIsRetried) {
  fs_.FailNextWrites(2);  // zero-filling at open, and its retry at the first segment, hit a full disk
  auto wal = Open();
  EXPECT_FALSE(fs_.FileExists(kSpare));
  ASSERT_TRUE(wal->Append(MakeRecords(1, 3, 1)).ok());
  EXPECT_EQ(*fs_.FileSize(kFirst), format::kSegmentHeaderBytes + 3 * kRecordBytes);  // growing
  EXPECT_TRUE(fs_.FileExists(kSpare));                   // asked for again after that rollover
  ASSERT_TRUE(wal->Append(MakeRecords(4, 60, 1)).ok());  // moves to it at once
  ASSERT_TRUE(wal->Sync().ok());
  auto files = SegmentFiles(&fs_, kDir);
  ASSERT_GE(files.size(), 3u);
  EXPECT_LT(*fs_.FileSize(kDir + "/" + files[0]), kSegmentBytes);
  EXPECT_EQ(*fs_.FileSize(kDir + "/" + files[1]), kSegmentBytes);
  wal = Open();
  ExpectLog(*wal, MakeRecords(1, 60, 1));
}

TEST_F(WalPreallocTest, SuffixTruncationCutsThePreallocatedFileThenMovesToASpare) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 10, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  ASSERT_TRUE(wal->Append(MakeRecords(4, 5, 2)).ok());  // conflict: 4..10 replaced
  ASSERT_TRUE(wal->Sync().ok());
  auto expected = MakeRecords(1, 3, 1);
  for (auto& r : MakeRecords(4, 5, 2)) expected.push_back(r);
  ExpectLog(*wal, expected);
  // The cut is an ftruncate; record 4 then started a new segment from the spare.
  EXPECT_EQ(*fs_.FileSize(kFirst), format::kSegmentHeaderBytes + 3 * kRecordBytes);
  ASSERT_EQ(SegmentFiles(&fs_, kDir).size(), 2u);
  EXPECT_EQ(*fs_.FileSize("/wal/00000000000000000004.wal"), kSegmentBytes);
  wal = Open();
  ExpectLog(*wal, expected);
  ASSERT_TRUE(wal->Append(MakeRecords(5, 5, 3)).ok());  // truncation inside a preallocated file
  expected.back() = MakeRecord(5, 3);
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open();
  ExpectLog(*wal, expected);
}

TEST_F(WalPreallocTest, ResetDropsPreallocatedSegmentsAndKeepsTheSpare) {
  auto wal = Open();
  ASSERT_TRUE(wal->Append(MakeRecords(1, 40, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  ASSERT_TRUE(wal->Reset(LogIndex(100), Term(4)).ok());
  EXPECT_TRUE(SegmentFiles(&fs_, kDir).empty());
  EXPECT_TRUE(fs_.FileExists(kSpare));
  ASSERT_TRUE(wal->Append(MakeRecords(101, 103, 4)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  EXPECT_EQ(*fs_.FileSize("/wal/00000000000000000101.wal"), kSegmentBytes);
  wal = Open();
  EXPECT_EQ(wal->first_index(), LogIndex(101));
  ExpectLog(*wal, MakeRecords(101, 103, 4));
  ASSERT_TRUE(wal->CompactPrefix(LogIndex(103)).ok());
  wal = Open();
  EXPECT_EQ(wal->first_index(), LogIndex(104));
  EXPECT_EQ(wal->last_index(), LogIndex(103));
}

TEST_F(WalPreallocTest, BackgroundSpareReplacesAGrowingFirstSegment) {
  // A first segment that grew: written with no spare at all, so that the
  // background filler cannot win the race to the first append.
  auto wal = Open(Prealloc(Preallocation::kOff));
  ASSERT_TRUE(wal->Append(MakeRecords(1, 2, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(Prealloc(Preallocation::kBackground));
  ASSERT_LT(*fs_.FileSize(kFirst), kSegmentBytes);
  ASSERT_TRUE(wal->TEST_WaitForSpare());  // a growing active segment asks at once
  ASSERT_TRUE(wal->Append(MakeRecords(3, 4, 1)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  auto files = SegmentFiles(&fs_, kDir);
  EXPECT_EQ(*fs_.FileSize(kDir + "/" + files.back()), kSegmentBytes);
  EXPECT_FALSE(wal->TEST_WaitForSpare());  // the next waits until this segment is half full
  for (uint64_t i = 5; i <= 80; ++i) ASSERT_TRUE(wal->Append({MakeRecord(i, 1)}).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal = Open(Prealloc(Preallocation::kBackground));
  ExpectLog(*wal, MakeRecords(1, 80, 1));
}

// Crash at every file operation of a workload that rolls over through spares
// (creation, header write, rename, syncs), with and without torn writes: the
// log reopens, keeps every record acknowledged by Sync, returns nothing that
// was not written, and keeps working.
TEST_F(WalPreallocTest, CrashAtEveryOperationOfRolloversKeepsTheSyncedPrefix) {
  int crashes = 0;
  for (int variant = 0; variant < 17; ++variant) {
    // Variant 0 drops unsynced bytes whole; the others tear them with their
    // own seed, odd ones also leaving zeros where bytes were lost.
    const int tear = variant == 0 ? 0 : 1 + variant % 2;
    Random random(static_cast<uint64_t>(variant));
    for (int64_t ops = 0;; ++ops) {
      env::MemFileSystem fs;
      ASSERT_TRUE(fs.CreateDir(kDir).ok());
      if (tear > 0) fs.SetTearSource(&random, tear == 2);
      uint64_t durable = 0;
      std::map<uint64_t, Record> written;
      bool finished = false;
      fs.CrashAfterOps(ops);  // Open's spare preparation is a crash point too
      auto opened = Wal::Open(&fs, kDir, Prealloc(Preallocation::kInline, 300));
      if (opened.ok()) {
        auto wal = std::move(*opened);
        finished = true;
        for (uint64_t batch = 0; batch < 12 && finished; ++batch) {
          uint64_t next = written.size() + 1;
          auto records = MakeRecords(next, next + batch % 3, 1, 15 + batch * 7);
          for (const auto& r : records) written[r.index.value()] = r;
          finished = wal->Append(records).ok() && wal->Sync().ok();
          if (finished) durable = records.back().index.value();
        }
      }
      fs.Crash();
      auto wal = Wal::Open(&fs, kDir, Prealloc(Preallocation::kInline, 300));
      ASSERT_TRUE(wal.ok()) << "ops=" << ops << " variant=" << variant << ": " << wal.status().ToString();
      uint64_t last = (*wal)->last_index().value();
      ASSERT_GE(last, durable) << "ops=" << ops;
      ASSERT_LE(last, written.size()) << "ops=" << ops;
      if (last > 0) {
        auto got = (*wal)->Read(LogIndex(1), LogIndex(last + 1), UINT64_MAX);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        for (const Record& r : *got) ASSERT_EQ(r, written[r.index.value()]) << "ops=" << ops;
      }
      ASSERT_TRUE((*wal)->Append(MakeRecords(last + 1, last + 2, 9)).ok());
      ASSERT_TRUE((*wal)->Sync().ok());
      wal->reset();
      auto again = Wal::Open(&fs, kDir, Prealloc(Preallocation::kInline, 300));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ((*again)->last_index(), LogIndex(last + 2));
      EXPECT_EQ((*again)->recovery_report().tail_bytes_dropped, 0u);
      if (finished) break;
      ++crashes;
    }
  }
  EXPECT_GT(crashes, 500);
}

// Every single-bit flip in a preallocated two-segment log, records and zero
// tails alike, either drops a tail or refuses to open; whatever is returned
// equals what was written, and a second open finds nothing to repair.
TEST_F(WalPreallocTest, BitFlipAnywhereInPreallocatedFilesNeverReturnsWrongData) {
  {
    auto wal = Open(Prealloc(Preallocation::kInline, 300));
    ASSERT_TRUE(wal->Append(MakeRecords(1, 8, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto files = SegmentFiles(&fs_, kDir);
  ASSERT_EQ(files.size(), 2u);
  int dropped = 0, refused = 0;
  for (const std::string& name : files) {
    const std::string original = Content(kDir + "/" + name);
    ASSERT_EQ(original.size(), 300u);
    for (size_t offset = 0; offset < original.size(); ++offset) {
      env::MemFileSystem fs;
      ASSERT_TRUE(fs.CreateDir(kDir).ok());
      for (const std::string& other : files) {
        std::string content = Content(kDir + "/" + other);
        if (other == name) content[offset] = static_cast<char>(content[offset] ^ 0x10);
        ASSERT_TRUE(fs.WriteFileAtomic(kDir + "/" + other, content).ok());
      }
      auto wal = Wal::Open(&fs, kDir, Prealloc(Preallocation::kOff, 300));
      if (!wal.ok()) {
        EXPECT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
        ++refused;
        continue;
      }
      ++dropped;
      uint64_t last = (*wal)->last_index().value();
      EXPECT_GT((*wal)->recovery_report().tail_bytes_dropped, 0u) << name << ":" << offset;
      // Only a flip in the last segment's zero tail (unwritten space) may
      // leave every record; one in a sealed zero tail refuses to open.
      const uint64_t last_records_end = format::kSegmentHeaderBytes + 3 * kRecordBytes;
      if (name != files.back() || offset < last_records_end) {
        EXPECT_LT(last, 8u) << "flip at " << name << ":" << offset << " went unnoticed";
      }
      if (last > 0) {
        auto got = (*wal)->Read(LogIndex(1), LogIndex(last + 1), UINT64_MAX);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(*got, MakeRecords(1, last, 1));
      }
      wal->reset();
      auto again = Wal::Open(&fs, kDir, Prealloc(Preallocation::kOff, 300));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ((*again)->recovery_report().tail_bytes_dropped, 0u);
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(refused, 0);
}

TEST(WalPreallocPosixTest, PreallocatedSegmentsSurviveReopenOnTheRealDisk) {
  char tmpl[] = "/tmp/rq_wal_prealloc_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  env::FileSystem* fs = env::DefaultFileSystem();
  Options options = Prealloc(Preallocation::kBackground, 64 << 10);
  {
    auto wal = MustOpen(fs, dir, options);
    ASSERT_TRUE(wal->TEST_WaitForSpare());
    for (uint64_t i = 1; i <= 1500; ++i) {
      ASSERT_TRUE(wal->Append({MakeRecord(i, 1, 100)}).ok());
      if (i % 100 == 0) {
        (void)wal->TEST_WaitForSpare();  // asked for once the active segment is half full
      }
    }
    ASSERT_TRUE(wal->Sync().ok());
    auto files = SegmentFiles(fs, dir);
    ASSERT_GE(files.size(), 3u);
    for (const auto& name : files) EXPECT_EQ(*fs->FileSize(dir + "/" + name), 64u << 10) << name;
    EXPECT_EQ(*fs->FileSize(dir + "/prealloc.spare"), 64u << 10);
    ASSERT_TRUE(wal->Append(MakeRecords(1490, 1495, 2, 100)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  auto wal = MustOpen(fs, dir, options);
  EXPECT_EQ(wal->recovery_report().tail_bytes_dropped, 0u);
  auto expected = MakeRecords(1, 1489, 1, 100);
  for (auto& r : MakeRecords(1490, 1495, 2, 100)) expected.push_back(r);
  auto got = wal->Read(LogIndex(1), LogIndex(1496), UINT64_MAX);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, expected);
  ASSERT_TRUE(wal->Append(MakeRecords(1496, 1500, 2, 100)).ok());
  ASSERT_TRUE(wal->Sync().ok());
  wal.reset();
  wal = MustOpen(fs, dir, options);
  EXPECT_EQ(wal->last_index(), LogIndex(1500));
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace rq::wal
