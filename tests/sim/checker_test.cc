// Checker self-tests: fabricated histories that break each property must be
// reported, so a silent simulator run means something.
#include "sim/checker.h"

#include <gtest/gtest.h>

#include "sim/cluster.h"

namespace rq::sim {
namespace {

raft::Entry MakeEntry(uint64_t index, uint64_t term, std::string data) {
  return raft::Entry{Term(term), LogIndex(index), raft::EntryType::kNormal, std::move(data)};
}

TEST(CheckerTest, TwoLeadersInOneTermAreReported) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kLeader, Term(3), LogIndex(0), LogIndex(0));
  EXPECT_TRUE(checker.ok());
  checker.ObserveNode(NodeId("n2"), raft::Role::kLeader, Term(3), LogIndex(0), LogIndex(0));
  EXPECT_FALSE(checker.ok());
  EXPECT_NE(checker.violation().find("two leaders"), std::string::npos);
}

TEST(CheckerTest, SameLeaderAgainInItsTermIsFine) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kLeader, Term(3), LogIndex(0), LogIndex(0));
  checker.ObserveNode(NodeId("n1"), raft::Role::kLeader, Term(3), LogIndex(0), LogIndex(0));
  checker.ObserveNode(NodeId("n2"), raft::Role::kLeader, Term(4), LogIndex(0), LogIndex(0));
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST(CheckerTest, DecreasingTermIsReported) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kFollower, Term(5), LogIndex(0), LogIndex(0));
  checker.ObserveNode(NodeId("n1"), raft::Role::kFollower, Term(4), LogIndex(0), LogIndex(0));
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, CommitBeyondLastIndexIsReported) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kFollower, Term(1), LogIndex(7), LogIndex(6));
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, DifferentEntriesWithSameIndexAndTermAreReported) {
  Checker checker;
  checker.ObserveAppend(NodeId("n1"), MakeEntry(4, 2, "set a 1"), Term(2));
  checker.ObserveAppend(NodeId("n2"), MakeEntry(4, 2, "set a 2"), Term(2));
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, SameEntryAfterDifferentPreviousTermIsReported) {
  Checker checker;
  checker.ObserveAppend(NodeId("n1"), MakeEntry(4, 3, "set a 1"), Term(2));
  checker.ObserveAppend(NodeId("n2"), MakeEntry(4, 3, "set a 1"), Term(1));
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, DifferentAppliedEntriesAtOneIndexAreReported) {
  Checker checker;
  checker.ObserveApply(NodeId("n1"), LogIndex(0), MakeEntry(1, 1, "set a 1"), 11);
  checker.ObserveApply(NodeId("n2"), LogIndex(0), MakeEntry(1, 1, "set a 2"), 12);
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, ApplyingWithAGapIsReported) {
  Checker checker;
  checker.ObserveApply(NodeId("n1"), LogIndex(3), MakeEntry(5, 1, "set a 1"), 11);
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, LeaderMissingACommittedEntryIsReported) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kLeader, Term(2), LogIndex(0), LogIndex(0));
  checker.ObserveApply(NodeId("n1"), LogIndex(0), MakeEntry(1, 2, "set a 1"), 11);
  raft::MemoryLogStorage empty_log;
  checker.ObserveLeaderLog(NodeId("n2"), Term(3), empty_log);
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, LeaderHoldingTheCommittedEntryPasses) {
  Checker checker;
  checker.ObserveNode(NodeId("n1"), raft::Role::kLeader, Term(2), LogIndex(0), LogIndex(0));
  checker.ObserveApply(NodeId("n1"), LogIndex(0), MakeEntry(1, 2, "set a 1"), 11);
  raft::MemoryLogStorage log;
  log.Append({MakeEntry(1, 2, "set a 1")});
  checker.ObserveLeaderLog(NodeId("n2"), Term(3), log);
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST(CheckerTest, ReadMissingAnAcknowledgedWriteIsReported) {
  Checker checker;
  checker.ObserveAck(LogIndex(9), "a");
  checker.ObserveReadIssued(1, "a");
  checker.ObserveReadServed(1, LogIndex(8), LogIndex(8), KeyState{1, LogIndex(8)});
  EXPECT_FALSE(checker.ok());
}

TEST(CheckerTest, ReadAfterTheAcknowledgedWritePasses) {
  Checker checker;
  checker.ObserveAck(LogIndex(9), "a");
  checker.ObserveReadIssued(1, "a");
  checker.ObserveReadServed(1, LogIndex(9), LogIndex(10), KeyState{1, LogIndex(9)});
  EXPECT_TRUE(checker.ok()) << checker.violation();
}

TEST(CheckerTest, SnapshotDivergingFromAppliedStateIsReported) {
  Checker checker;
  checker.ObserveApply(NodeId("n1"), LogIndex(0), MakeEntry(1, 1, "set a 1"), 11);
  checker.ObserveSnapshot(NodeId("n2"), LogIndex(1), 99);
  EXPECT_FALSE(checker.ok());
}

// The whole pipeline: a corrupted apply inside a live cluster is caught.
TEST(CheckerTest, CorruptedApplyInClusterIsDetected) {
  ClusterOptions options;
  options.seed = 7;
  Cluster cluster(options);
  cluster.Stabilize(40);
  auto leader = cluster.Leader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(cluster.checker().ok()) << cluster.checker().violation();
  size_t victim = (*leader + 1) % cluster.size();
  cluster.TEST_CorruptNextApply(victim);
  ASSERT_TRUE(cluster.Propose(*leader, "a", false).ok());
  cluster.Stabilize(5);
  EXPECT_FALSE(cluster.checker().ok());
  EXPECT_NE(cluster.checker().violation().find("state machine safety"), std::string::npos)
      << cluster.checker().violation();
}

}  // namespace
}  // namespace rq::sim
