// LogConverter: each Go entry keeps its index and term; configurations
// become single-server changes; what has no counterpart is refused by index.
#include "node/upgrade_log.h"

#include <gtest/gtest.h>

#include "store/node_directory.h"
#include "upgrade/bolt_test_util.h"

namespace rq::node {

using namespace rq::upgrade;  // NOLINT: the Go formats this file converts
namespace {

GoLogEntry Config(uint64_t index, const std::vector<std::pair<std::string, std::string>>& voters) {
  GoLogEntry entry;
  entry.index = index;
  entry.term = 3;
  entry.type = static_cast<uint8_t>(GoLogType::kConfiguration);
  entry.data = testing::GoConfigurationRecord(voters);
  return entry;
}

GoConfiguration Voters(const std::vector<std::pair<std::string, std::string>>& voters) {
  GoConfiguration out;
  for (const auto& [id, address] : voters) out.servers.push_back(GoServer{GoSuffrage::kVoter, id, address});
  return out;
}

TEST(LogConverterTest, AnAddedServerBecomesOneAddVoterCarryingItsAddresses) {
  LogConverter converter(GoCommandDialect::kV5V6, Voters({{"1", "h:1"}}), {{"2", "h:2001"}});
  Result<raft::Entry> entry = converter.Convert(Config(7, {{"1", "h:1"}, {"2", "h:2"}}));
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  EXPECT_EQ(entry->index, LogIndex(7));
  EXPECT_EQ(entry->term, Term(3));
  ASSERT_EQ(entry->type, raft::EntryType::kConfigChange);
  std::optional<raft::ConfigChange> change = raft::DecodeConfigChange(entry->data);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->type, raft::ConfigChangeType::kAddVoter);
  EXPECT_EQ(change->node, NodeId("2"));
  EXPECT_EQ(store::DecodeNodeAddress(change->context), (store::NodeAddress{"h:2", "h:2001"}));
  EXPECT_EQ(converter.configuration().servers.size(), 2u);
}

TEST(LogConverterTest, ARemovedServerBecomesARemove) {
  LogConverter converter(GoCommandDialect::kV7Plus, Voters({{"1", "h:1"}, {"2", "h:2"}}), {});
  Result<raft::Entry> entry = converter.Convert(Config(9, {{"2", "h:2"}}));
  ASSERT_TRUE(entry.ok());
  std::optional<raft::ConfigChange> change = raft::DecodeConfigChange(entry->data);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->type, raft::ConfigChangeType::kRemove);
  EXPECT_EQ(change->node, NodeId("1"));
}

TEST(LogConverterTest, AnUnchangedConfigurationBecomesANoop) {
  LogConverter converter(GoCommandDialect::kV7Plus, Voters({{"1", "h:1"}}), {});
  Result<raft::Entry> entry = converter.Convert(Config(4, {{"1", "h:1"}}));
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->type, raft::EntryType::kNoop);
  EXPECT_EQ(entry->index, LogIndex(4));
}

TEST(LogConverterTest, SeveralChangesInOneEntryAreRefusedByIndex) {
  LogConverter converter(GoCommandDialect::kV7Plus, Voters({{"1", "h:1"}}), {});
  Result<raft::Entry> entry = converter.Convert(Config(12, {{"1", "h:1"}, {"2", "h:2"}, {"3", "h:3"}}));
  ASSERT_FALSE(entry.ok());
  EXPECT_TRUE(entry.status().code() == Status::Code::kNotSupported);
  EXPECT_NE(entry.status().message().find("entry 12"), std::string::npos);
  // Nothing was taken from the refused entry.
  EXPECT_EQ(converter.configuration().servers.size(), 1u);
}

TEST(LogConverterTest, NoopsAndBarriersBecomeNoopsAndOldPeerEntriesAreRefused) {
  LogConverter converter(GoCommandDialect::kV7Plus, {}, {});
  GoLogEntry go;
  go.index = 5;
  go.term = 2;
  for (GoLogType type : {GoLogType::kNoop, GoLogType::kBarrier}) {
    go.type = static_cast<uint8_t>(type);
    Result<raft::Entry> entry = converter.Convert(go);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(entry->type, raft::EntryType::kNoop);
  }
  go.type = static_cast<uint8_t>(GoLogType::kAddPeerDeprecated);
  EXPECT_TRUE(converter.Convert(go).status().code() == Status::Code::kNotSupported);
}

TEST(LogConverterTest, AnUndecodableCommandIsCorruptionNamingTheEntry) {
  LogConverter converter(GoCommandDialect::kV7Plus, {}, {});
  GoLogEntry go;
  go.index = 33;
  go.term = 2;
  go.type = static_cast<uint8_t>(GoLogType::kCommand);
  go.data = "\xff\xff\xff garbage";
  Result<raft::Entry> entry = converter.Convert(go);
  ASSERT_FALSE(entry.ok());
  EXPECT_NE(entry.status().ToString().find("entry 33"), std::string::npos) << entry.status().ToString();
}

TEST(LogConverterTest, MembershipPutsNonVotersAndStagingAmongLearners) {
  GoConfiguration config = Voters({{"2", "h:2"}, {"1", "h:1"}});
  config.servers.push_back(GoServer{GoSuffrage::kNonvoter, "4", "h:4"});
  config.servers.push_back(GoServer{GoSuffrage::kStaging, "3", "h:3"});
  raft::Membership membership = MembershipOf(config);
  EXPECT_EQ(membership.voters, (std::vector<NodeId>{NodeId("1"), NodeId("2")}));
  EXPECT_EQ(membership.learners, (std::vector<NodeId>{NodeId("3"), NodeId("4")}));
}

}  // namespace
}  // namespace rq::node
