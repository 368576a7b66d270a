// Runs the upgrade fuzz entry points over seeded random inputs on every
// build: noise, and valid files, records and commands with random damage.
#include <gtest/gtest.h>

#include <string>

#include "base/random.h"
#include "fuzz_input.h"
#include "upgrade/bolt_test_util.h"
#include "upgrade/go_raft_log.h"
#include "upgrade/sqlite_wal.h"
#include "upgrade_fuzz_entries.h"

namespace rq::fuzz {
namespace {

std::string Noise(Random& random, size_t max) {
  std::string s(random.Uniform(max), '\0');
  for (char& c : s) c = static_cast<char>(random.Next());
  return s;
}

// Protobuf field helpers for hand-built Go commands.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Field(int number, const std::string& bytes) { return Varint(number << 3 | 2) + Varint(bytes.size()) + bytes; }
std::string VarintField(int number, uint64_t v) { return Varint(number << 3) + Varint(v); }

std::string SampleCommand(Random& random) {
  std::string statement = Field(1, "INSERT INTO foo(name) VALUES(?)") + Field(2, Field(5, "fiona"));
  std::string request = VarintField(1, 1) + Field(2, statement) + Field(2, Field(1, "SELECT 1"));
  int type = static_cast<int>(random.Range(1, 7));
  return VarintField(1, type) + Field(2, Field(1, request));
}

TEST(UpgradeFuzzEntriesTest, SampleRaftDbIsValid) {
  // The patch seeds only explore deep paths if the undamaged sample reads.
  Result<upgrade::BoltReader> bolt = upgrade::BoltReader::FromBytes("sample", UpgradeSampleRaftDb());
  ASSERT_TRUE(bolt.ok()) << bolt.status().ToString();
  Result<upgrade::GoRaftStore> store = upgrade::GoRaftStore::FromBolt(std::move(*bolt));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<std::vector<upgrade::GoLogEntry>> entries = store->ReadAll();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), 12u);
  EXPECT_EQ(store->hard_state().current_term, 2u);
}

TEST(UpgradeFuzzEntriesTest, NoiseNeverCrashesTheBoltReader) {
  Random random(18);
  for (int i = 0; i < 1500; ++i) {
    std::string input = Noise(random, 600);
    if (!input.empty()) input[0] = static_cast<char>(input[0] & ~1);  // raw bytes, not patches
    Feed(FuzzBoltFile, input);
  }
}

TEST(UpgradeFuzzEntriesTest, PatchedRaftDbIsReadOrRefused) {
  Random random(1818);
  for (int i = 0; i < 3000; ++i) {
    std::string patches(1, '\x01');
    for (uint64_t n = random.Range(1, 6); n > 0; --n) {
      patches.push_back(static_cast<char>(random.Next()));
      patches.push_back(static_cast<char>(random.Next()));
      patches.push_back(static_cast<char>(1u << random.Uniform(8)));
    }
    Feed(FuzzBoltFile, patches);
  }
}

TEST(UpgradeFuzzEntriesTest, MutatedSampleFilesAreReadOrRefused) {
  Random random(7);
  const std::string sample = UpgradeSampleRaftDb();
  for (int i = 0; i < 300; ++i) {
    std::string file = Mutate(random, sample);
    if (random.Chance(1, 3)) file.resize(random.Uniform(file.size() + 1));
    if (!file.empty()) file[0] = static_cast<char>(file[0] & ~1);
    Feed(FuzzBoltFile, file);
  }
}

TEST(UpgradeFuzzEntriesTest, MsgpackNoiseAndMutatedRecords) {
  Random random(99);
  const std::string records[] = {
      upgrade::testing::GoLogRecord(7, 2, 0, "data"),
      upgrade::testing::GoConfigurationRecord({{"1", "127.0.0.1:16002"}, {"2", "127.0.0.1:16004"}}),
      std::string("\x86\xaa" "AppendedAt\xa8\xd1\x80\xc7\x60\x6b\x15\xb4\x3e\xa4" "Data\xc0\xaa" "Extensions\xc0\xa5"
                  "Index\x01\xa4Term\x01\xa4Type\x01")};
  for (int i = 0; i < 3000; ++i) {
    Feed(FuzzGoMsgpack, i % 3 == 0 ? Noise(random, 64) : Mutate(random, records[random.Uniform(3)]));
  }
}

TEST(UpgradeFuzzEntriesTest, CommandNoiseAndMutatedCommands) {
  Random random(5);
  const std::string meta =
      R"({"Version":1,"ID":"2-3-4","Index":3,"Term":2,"Configuration":{"Servers":[{"Suffrage":0,"ID":"1","Address":"a"}]},"ConfigurationIndex":1,"Size":9})";
  const std::string legacy = R"({"typ":0,"sub":{"tx":true,"queries":["SELECT ?"],"Parameters":[[1]]}})";
  for (int i = 0; i < 3000; ++i) {
    switch (i % 4) {
      case 0: Feed(FuzzGoCommand, Noise(random, 80)); break;
      case 1: Feed(FuzzGoCommand, Mutate(random, SampleCommand(random))); break;
      case 2: Feed(FuzzGoCommand, Mutate(random, meta)); break;
      default: Feed(FuzzGoCommand, Mutate(random, legacy)); break;
    }
  }
}

TEST(UpgradeFuzzEntriesTest, SampleSqliteWalIsValidAndNoiseIsRefused) {
  const std::string sample = UpgradeSampleSqliteWal();
  Result<upgrade::SqliteWalSummary> summary = upgrade::CheckSqliteWal(sample, "sample.wal");
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->frames, 4u);
  EXPECT_EQ(summary->database_pages, 4u);
  Random random(1019);
  for (int i = 0; i < 1500; ++i) {
    std::string input = Noise(random, 700);
    if (!input.empty()) input[0] = static_cast<char>(input[0] & ~1);
    Feed(FuzzSqliteWal, input);
  }
}

TEST(UpgradeFuzzEntriesTest, PatchedSqliteWalIsReadOrRefused) {
  Random random(1020);
  int refused = 0;
  const std::string sample = UpgradeSampleSqliteWal();
  for (int i = 0; i < 3000; ++i) {
    std::string patches(1, '\x01');
    for (uint64_t n = random.Range(1, 4); n > 0; --n) {
      patches.push_back(static_cast<char>(random.Next()));
      patches.push_back(static_cast<char>(random.Next()));
      patches.push_back(static_cast<char>(1u << random.Uniform(8)));
    }
    Feed(FuzzSqliteWal, patches);
    // Every single flipped bit of the sample is caught (checksums cover
    // every byte but the frame headers' own checksum words, which mismatch).
    std::string flipped = sample;
    flipped[random.Uniform(flipped.size())] ^= static_cast<char>(1u << random.Uniform(8));
    refused += upgrade::CheckSqliteWal(flipped, "flipped.wal").ok() ? 0 : 1;
  }
  EXPECT_EQ(refused, 3000);
}

}  // namespace
}  // namespace rq::fuzz
