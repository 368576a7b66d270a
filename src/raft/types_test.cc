// ConfigChange encoding, membership arithmetic, MemoryLogStorage and Config.
#include <gtest/gtest.h>

#include "base/random.h"
#include "raft/log_storage.h"
#include "raft/raft.h"
#include "raft/types.h"

namespace rq::raft {
namespace {

std::vector<Entry> MakeEntries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(Entry{Term(term), LogIndex(i), EntryType::kNormal, "e" + std::to_string(i)});
  return out;
}

TEST(ConfigChangeTest, EncodeDecodeRoundTrips) {
  ConfigChange c{ConfigChangeType::kAddLearner, NodeId("node-7"), "10.0.0.7:4002"};
  auto decoded = DecodeConfigChange(EncodeConfigChange(c));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, c);
}

TEST(ConfigChangeTest, DecodingGarbageReturnsNulloptNeverCrashes) {
  std::string valid = EncodeConfigChange({ConfigChangeType::kRemove, NodeId("3"), "ctx"});
  for (size_t len = 0; len < valid.size(); ++len) {
    EXPECT_FALSE(DecodeConfigChange(valid.substr(0, len)).has_value()) << "prefix " << len;
  }
  EXPECT_FALSE(DecodeConfigChange(valid + "x").has_value());
  std::string bad_type = valid;
  bad_type[1] = 9;
  EXPECT_FALSE(DecodeConfigChange(bad_type).has_value());
  Random random(42);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(random.Uniform(24), '\0');
    for (char& ch : junk) ch = static_cast<char>(random.Uniform(256));
    if (!junk.empty() && random.Chance(1, 2)) junk[0] = 1;
    auto decoded = DecodeConfigChange(junk);
    if (decoded) {
      EXPECT_EQ(EncodeConfigChange(*decoded), junk);
    }
  }
}

TEST(MembershipTest, ApplyConfigChangeKeepsListsSortedAndDisjoint) {
  Membership m;
  m = ApplyConfigChange(m, {ConfigChangeType::kAddVoter, NodeId("b"), {}});
  m = ApplyConfigChange(m, {ConfigChangeType::kAddVoter, NodeId("a"), {}});
  m = ApplyConfigChange(m, {ConfigChangeType::kAddLearner, NodeId("c"), {}});
  EXPECT_EQ(m.voters, (std::vector<NodeId>{NodeId("a"), NodeId("b")}));
  EXPECT_TRUE(m.IsLearner(NodeId("c")));
  m = ApplyConfigChange(m, {ConfigChangeType::kAddVoter, NodeId("c"), {}});  // promote
  EXPECT_TRUE(m.IsVoter(NodeId("c")));
  EXPECT_FALSE(m.IsLearner(NodeId("c")));
  m = ApplyConfigChange(m, {ConfigChangeType::kRemove, NodeId("a"), {}});
  EXPECT_FALSE(m.Contains(NodeId("a")));
  EXPECT_EQ(m.voters.size(), 2u);
}

TEST(MemoryLogStorageTest, AppendOverwritesSuffix) {
  MemoryLogStorage s;
  s.Append(MakeEntries(1, 5, 1));
  s.Append(MakeEntries(4, 6, 2));
  EXPECT_EQ(s.last_index(), LogIndex(6));
  EXPECT_EQ(*s.term(LogIndex(3)), Term(1));
  EXPECT_EQ(*s.term(LogIndex(4)), Term(2));
}

TEST(MemoryLogStorageTest, EntriesRespectsByteLimitButReturnsAtLeastOne) {
  MemoryLogStorage s;
  s.Append(MakeEntries(1, 5, 1));  // 2 bytes each
  auto one = s.entries(LogIndex(1), LogIndex(6), 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto three = s.entries(LogIndex(1), LogIndex(6), 6);
  EXPECT_EQ(three->size(), 3u);
  EXPECT_FALSE(s.entries(LogIndex(1), LogIndex(7), 100).ok());
}

TEST(MemoryLogStorageTest, CreateSnapshotCompactsAndKeepsTrailingEntries) {
  MemoryLogStorage s;
  s.Append(MakeEntries(1, 10, 1));
  s.CreateSnapshot(SnapshotMeta{LogIndex(8), Term(1), {}}, LogIndex(5));
  EXPECT_EQ(s.first_index(), LogIndex(6));
  EXPECT_EQ(s.last_index(), LogIndex(10));
  EXPECT_TRUE(s.entries(LogIndex(5), LogIndex(7), 100).status().IsNotFound());
  EXPECT_EQ(*s.term(LogIndex(8)), Term(1));
  EXPECT_TRUE(s.term(LogIndex(3)).status().IsNotFound());
}

TEST(MemoryLogStorageTest, ApplySnapshotReplacesConflictingLog) {
  MemoryLogStorage s;
  s.Append(MakeEntries(1, 10, 1));
  s.ApplySnapshot(SnapshotMeta{LogIndex(20), Term(3), {}});
  EXPECT_EQ(s.first_index(), LogIndex(21));
  EXPECT_EQ(s.last_index(), LogIndex(20));
  EXPECT_EQ(*s.term(LogIndex(20)), Term(3));
}

TEST(ConfigTest, ValidateRejectsNonsense) {
  Config c;
  EXPECT_FALSE(c.Validate().ok());  // no id
  c.id = NodeId("1");
  EXPECT_TRUE(c.Validate().ok());
  c.election_ticks = 1;
  EXPECT_FALSE(c.Validate().ok());
  c.election_ticks = 10;
  c.max_inflight_appends = 0;
  EXPECT_FALSE(c.Validate().ok());
}

}  // namespace
}  // namespace rq::raft
