// Runs the store fuzz entry points over seeded random inputs, so CI checks
// their properties without clang/libFuzzer (an RQ_ASSERT failure aborts),
// and pins the decoder's refusals that those properties rely on.
#include "store_fuzz_entries.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/random.h"
#include "fuzz_input.h"
#include "store/peers_file.h"
#include "store/snapshot_meta.h"

namespace rq::fuzz {
namespace {

store::SnapshotRecord Record(std::vector<NodeId> voters, std::vector<NodeId> learners) {
  store::SnapshotRecord record;
  record.meta = raft::SnapshotMeta{LogIndex(42), Term(3), {std::move(voters), std::move(learners)}};
  record.addresses[NodeId("1")] = store::NodeAddress{"10.0.0.1:4002", "http://10.0.0.1:4001"};
  return record;
}

TEST(StoreFuzzEntriesTest, SnapshotRecordSurvivesRandomAndMutatedInputs) {
  std::string body_only = store::EncodeSnapshotRecord(Record({NodeId("1"), NodeId("2")}, {NodeId("3")}));
  // Odd first byte: the entry frames the rest with a valid magic and CRC.
  std::vector<std::string> seeds = {body_only, "\x01" + body_only.substr(8)};
  Random random(21);
  for (int round = 0; round < 6000; ++round) {
    std::string input;
    if (round % 4 == 0) {
      for (uint64_t n = random.Uniform(64); n > 0; --n) input.push_back(static_cast<char>(random.Next()));
    } else {
      input = Mutate(random, seeds[random.Uniform(seeds.size())]);
    }
    Feed(FuzzSnapshotRecord, input);
  }
  SUCCEED();
}

TEST(StoreFuzzEntriesTest, PeersFileSurvivesRandomJsonFragments) {
  const std::vector<std::string> fragments = {
      "[", "]", "{", "}", ",", ":", "\"id\"", "\"address\"", "\"non_voter\"", "true", "false", "null",
      "\"1\"", "\"2\"", "\"\"", "\"10.0.0.1:4002\"", "1", "-0.5e3", "\"\\u0000\"", " ", "\"\xc3\xa9\"", "[[[["};
  Random random(22);
  for (int round = 0; round < 6000; ++round) {
    std::string input;
    for (uint64_t n = random.Uniform(24); n > 0; --n) input += fragments[random.Uniform(fragments.size())];
    if (round % 3 == 0) input = Mutate(random, input);
    Feed(FuzzPeersFile, input);
  }
  Feed(FuzzPeersFile, R"([{"id":"1","address":"a:1"},{"id":"2","address":"b:1","non_voter":true}])");
  SUCCEED();
}

TEST(StoreFuzzEntriesTest, SnapshotRecordRefusesMembershipsBreakingTheInvariants) {
  ASSERT_TRUE(store::DecodeSnapshotRecord(store::EncodeSnapshotRecord(Record({NodeId("1")}, {}))).ok());
  const std::vector<store::SnapshotRecord> broken = {
      Record({NodeId("2"), NodeId("1")}, {}),  // not sorted
      Record({NodeId("1"), NodeId("1")}, {}),  // duplicate
      Record({NodeId("")}, {}),                // empty id
      Record({NodeId("1")}, {NodeId("1")}),    // voter and learner
  };
  for (const store::SnapshotRecord& record : broken) {
    Result<store::SnapshotRecord> decoded = store::DecodeSnapshotRecord(store::EncodeSnapshotRecord(record));
    EXPECT_FALSE(decoded.ok());
    EXPECT_TRUE(decoded.status().IsCorruption()) << decoded.status().ToString();
  }
}

}  // namespace
}  // namespace rq::fuzz
