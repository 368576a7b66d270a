// The recovery specification: what Open() does with each kind of damage.
// A torn or corrupt tail of the last segment is cut; anything else refuses.
#include <gtest/gtest.h>

#include "base/coding.h"
#include "base/crc32c.h"
#include "wal/wal.h"
#include "wal/wal_format.h"
#include "wal/wal_test_util.h"

namespace rq::wal {
namespace {

using testing::MakeRecords;
using testing::MustOpen;
using testing::SegmentFiles;

constexpr uint64_t kRecordBytes = format::kRecordHeaderBytes + 20;  // MakeRecords' default payload
const std::string kFirst = "/wal/00000000000000000001.wal";

class WalRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/wal").ok()); }

  // Writes records [1, last] durably, in segments of segment_bytes_max.
  void WriteLog(uint64_t last, uint64_t segment_bytes_max = 64ull << 20) {
    Options options;
    options.segment_bytes_max = segment_bytes_max;
    auto wal = MustOpen(&fs_, "/wal", options);
    ASSERT_TRUE(wal->Append(MakeRecords(1, last, 1)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  void AppendRaw(const std::string& path, std::string_view bytes) {
    auto file = fs_.NewWritableFile(path, env::OpenMode::kAppend);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append(bytes).ok());
    ASSERT_TRUE((*file)->Sync().ok());
  }
  Result<std::unique_ptr<Wal>> Reopen() { return Wal::Open(&fs_, "/wal", {}); }
  void ExpectIntactPrefix(const Wal& wal, uint64_t last) {
    ASSERT_EQ(wal.last_index(), LogIndex(last));
    auto got = wal.Read(LogIndex(1), LogIndex(last + 1), UINT64_MAX);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, MakeRecords(1, last, 1));
  }

  env::MemFileSystem fs_;
};

TEST_F(WalRecoveryTest, TruncatedTrailingRecordIsDropped) {
  WriteLog(5);
  uint64_t size = *fs_.FileSize(kFirst);
  ASSERT_TRUE(fs_.Truncate(kFirst, size - 7).ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 4);
  EXPECT_EQ((*wal)->recovery_report().tail_bytes_dropped, kRecordBytes - 7);
  EXPECT_EQ(*fs_.FileSize(kFirst), size - kRecordBytes);  // the file itself was cut
  ASSERT_TRUE((*wal)->Append(MakeRecords(5, 6, 1)).ok());
  ExpectIntactPrefix(**wal, 6);
}

TEST_F(WalRecoveryTest, TruncatedTrailingRecordHeaderIsDropped) {
  WriteLog(3);
  AppendRaw(kFirst, std::string(10, '\x07'));
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok());
  ExpectIntactPrefix(**wal, 3);
  EXPECT_EQ((*wal)->recovery_report().tail_bytes_dropped, 10u);
}

TEST_F(WalRecoveryTest, BadCrcInTailIsTruncated) {
  WriteLog(5);
  uint64_t last_payload = 40 + 4 * kRecordBytes + format::kRecordHeaderBytes + 2;
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, last_payload, "?").ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok());
  ExpectIntactPrefix(**wal, 4);
  EXPECT_NE((*wal)->recovery_report().tail_damage.find("crc mismatch"), std::string::npos);
}

TEST_F(WalRecoveryTest, CorruptionBeforeTailRefusesToOpen) {
  WriteLog(5);
  uint64_t second_payload = 40 + kRecordBytes + format::kRecordHeaderBytes + 2;
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, second_payload, "?").ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.status().IsCorruption());
  EXPECT_NE(wal.status().message().find(kFirst), std::string::npos);
  EXPECT_NE(wal.status().message().find("offset 85"), std::string::npos) << wal.status().ToString();
}

TEST_F(WalRecoveryTest, CorruptLengthBeforeTailRefusesToOpen) {
  WriteLog(5);
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, 40 + kRecordBytes, "\x30").ok());  // record 2's length
  EXPECT_TRUE(Reopen().status().IsCorruption());
}

TEST_F(WalRecoveryTest, ZeroFilledTailIsACleanEnd) {
  WriteLog(4);
  uint64_t size = *fs_.FileSize(kFirst);
  AppendRaw(kFirst, std::string(4096, '\0'));  // preallocated, never written
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 4);
  EXPECT_EQ((*wal)->recovery_report().tail_bytes_dropped, 0u);
  EXPECT_EQ(*fs_.FileSize(kFirst), size + 4096);  // kept: appends overwrite the zeros
  ASSERT_TRUE((*wal)->Append(MakeRecords(5, 6, 1)).ok());
  ASSERT_TRUE((*wal)->Sync().ok());
  EXPECT_EQ(*fs_.FileSize(kFirst), size + 4096);
  wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 6);
}

TEST_F(WalRecoveryTest, MissingSegmentIsCorruption) {
  WriteLog(30, 300);
  auto files = SegmentFiles(&fs_, "/wal");
  ASSERT_GE(files.size(), 3u);
  ASSERT_TRUE(fs_.DeleteFile("/wal/" + files[1]).ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.status().IsCorruption());
  EXPECT_NE(wal.status().message().find("missing segment"), std::string::npos);
}

TEST_F(WalRecoveryTest, DamagedTailOfANonLastSegmentIsCorruption) {
  WriteLog(30, 300);
  auto files = SegmentFiles(&fs_, "/wal");
  uint64_t size = *fs_.FileSize("/wal/" + files[0]);
  ASSERT_TRUE(fs_.Truncate("/wal/" + files[0], size - 3).ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.status().IsCorruption());
  EXPECT_NE(wal.status().message().find(files[0]), std::string::npos);
}

TEST_F(WalRecoveryTest, HeaderFirstIndexMismatchIsCorruption) {
  WriteLog(3);
  ASSERT_TRUE(fs_.RenameFile(kFirst, "/wal/00000000000000000002.wal").ok());
  EXPECT_TRUE(Reopen().status().IsCorruption());
}

TEST_F(WalRecoveryTest, BadMagicIsCorruption) {
  WriteLog(3);
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, 0, "X").ok());
  EXPECT_TRUE(Reopen().status().IsCorruption());
}

TEST_F(WalRecoveryTest, UnknownVersionIsCorruption) {
  WriteLog(3);
  std::string header = EncodeSegmentHeader({0, LogIndex(1)});
  header[8] = 9;  // version 9, CRC recomputed so only the version is wrong
  header.replace(32, 4, std::string(4, '\0'));
  std::string fixed = header.substr(0, 32);
  coding::PutFixed32(&fixed, crc32c::Mask(crc32c::Value(fixed)));
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, 0, fixed).ok());
  auto wal = Reopen();
  ASSERT_TRUE(wal.status().IsCorruption());
  EXPECT_NE(wal.status().message().find("version"), std::string::npos);
}

TEST_F(WalRecoveryTest, TornHeaderOfLastSegmentIsDeleted) {
  WriteLog(30, 300);
  auto files = SegmentFiles(&fs_, "/wal");
  AppendRaw("/wal/00000000000000000031.wal", EncodeSegmentHeader({0, LogIndex(31)}).substr(0, 13));
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 30);
  EXPECT_EQ(SegmentFiles(&fs_, "/wal"), files);
}

TEST_F(WalRecoveryTest, HeaderPrefixFollowedByZerosIsATornCreation) {
  WriteLog(30, 300);
  auto files = SegmentFiles(&fs_, "/wal");
  std::string torn = EncodeSegmentHeader({0, LogIndex(31)}).substr(0, 21) + std::string(100, '\0');
  AppendRaw("/wal/00000000000000000031.wal", torn);
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 30);
  EXPECT_EQ(SegmentFiles(&fs_, "/wal"), files);
}

TEST_F(WalRecoveryTest, ZeroedHeaderBeforeRecordsIsCorruption) {
  WriteLog(3);
  ASSERT_TRUE(fs_.TEST_Corrupt(kFirst, 10, std::string(30, '\0')).ok());
  EXPECT_TRUE(Reopen().status().IsCorruption());
}

TEST_F(WalRecoveryTest, EmptyLastSegmentIsDeleted) {
  WriteLog(30, 300);
  auto files = SegmentFiles(&fs_, "/wal");
  AppendRaw("/wal/00000000000000000031.wal", EncodeSegmentHeader({0, LogIndex(31)}));
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok()) << wal.status().ToString();
  ExpectIntactPrefix(**wal, 30);
  EXPECT_EQ(SegmentFiles(&fs_, "/wal"), files);
}

TEST_F(WalRecoveryTest, NonContiguousIndexesAreCorruption) {
  WriteLog(3);
  std::string bytes;
  EncodeRecord(testing::MakeRecord(5, 1), &bytes);  // valid CRC, index 4 skipped
  AppendRaw(kFirst, bytes);
  auto wal = Reopen();
  ASSERT_TRUE(wal.status().IsCorruption());
  EXPECT_NE(wal.status().message().find("expected 4"), std::string::npos);
}

TEST_F(WalRecoveryTest, TempFilesFromInterruptedReplacesAreRemoved) {
  WriteLog(2);
  AppendRaw("/wal/hardstate.tmp", "half written");
  auto wal = Reopen();
  ASSERT_TRUE(wal.ok());
  EXPECT_FALSE(fs_.FileExists("/wal/hardstate.tmp"));
  EXPECT_FALSE((*wal)->hard_state().has_value());
}

// Every single-bit flip in a small two-segment log either truncates the tail
// or refuses to open; whatever is returned equals what was written.
TEST_F(WalRecoveryTest, BitFlipAtEveryByteNeverReturnsWrongData) {
  WriteLog(8, 250);
  auto files = SegmentFiles(&fs_, "/wal");
  ASSERT_EQ(files.size(), 2u);
  int truncated = 0, refused = 0;
  for (const std::string& name : files) {
    const std::string path = "/wal/" + name;
    const std::string original = *fs_.ReadFile(path);
    for (size_t offset = 0; offset < original.size(); ++offset) {
      for (int bit : {0, 5}) {
        env::MemFileSystem fs;
        ASSERT_TRUE(fs.CreateDir("/wal").ok());
        for (const std::string& other : files) {
          std::string content = *fs_.ReadFile("/wal/" + other);
          if (other == name) content[offset] = static_cast<char>(content[offset] ^ (1 << bit));
          ASSERT_TRUE(fs.WriteFileAtomic("/wal/" + other, content).ok());
        }
        auto wal = Wal::Open(&fs, "/wal", {});
        if (!wal.ok()) {
          EXPECT_TRUE(wal.status().IsCorruption()) << wal.status().ToString();
          ++refused;
          continue;
        }
        ++truncated;
        uint64_t last = (*wal)->last_index().value();
        EXPECT_LT(last, 8u) << "flip at " << name << ":" << offset << " went unnoticed";
        if (last == 0) continue;
        auto got = (*wal)->Read(LogIndex(1), LogIndex(last + 1), UINT64_MAX);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(*got, MakeRecords(1, last, 1));
      }
    }
  }
  EXPECT_GT(truncated, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace rq::wal
