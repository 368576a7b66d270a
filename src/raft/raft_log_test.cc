// RaftLog: the stable + unstable view the core reasons about.
#include "raft/raft_log.h"

#include <gtest/gtest.h>

namespace rq::raft {
namespace {

std::vector<Entry> Ents(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(Entry{Term(term), LogIndex(i), EntryType::kNormal, "x"});
  return out;
}

TEST(RaftLogTest, UnstableEntriesShadowTruncatedStableSuffix) {
  MemoryLogStorage storage;
  storage.Append(Ents(1, 5, 1));
  RaftLog log(&storage, LogIndex(2), LogIndex(0));
  auto truncated = log.Append(Ents(4, 4, 2));
  ASSERT_TRUE(truncated.has_value());
  EXPECT_EQ(*truncated, LogIndex(4));
  EXPECT_EQ(log.last_index(), LogIndex(4));
  EXPECT_EQ(*log.term(LogIndex(4)), Term(2));
  EXPECT_EQ(*log.term(LogIndex(3)), Term(1));
  EXPECT_EQ(log.stable_last_index(), LogIndex(3));
  auto all = log.Entries(LogIndex(1), LogIndex(5), 1000);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ(all->back().term, Term(2));
}

TEST(RaftLogTest, StableToIgnoresEntriesOverwrittenMeanwhile) {
  MemoryLogStorage storage;
  RaftLog log(&storage, LogIndex(0), LogIndex(0));
  log.Append(Ents(1, 3, 1));
  auto handed = log.TakeUnstableToPersist();
  EXPECT_EQ(handed.size(), 3u);
  EXPECT_FALSE(log.HasUnstableToPersist());
  log.Append(Ents(3, 3, 2));  // overwrites index 3 before the Ready is acknowledged
  EXPECT_TRUE(log.HasUnstableToPersist());
  storage.Append(handed);
  log.StableTo(LogIndex(3), Term(1));  // stale acknowledgement
  EXPECT_EQ(*log.term(LogIndex(3)), Term(2));
  EXPECT_LT(log.stable_last_index(), LogIndex(3));
  auto again = log.TakeUnstableToPersist();
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again.back().term, Term(2));
}

TEST(RaftLogTest, ConflictHintPointsToFirstIndexOfConflictingTerm) {
  MemoryLogStorage storage;
  RaftLog log(&storage, LogIndex(0), LogIndex(0));
  log.Append(Ents(1, 2, 1));
  log.Append(Ents(3, 8, 3));
  auto [hint, term] = log.ConflictHint(LogIndex(7));
  EXPECT_EQ(hint, LogIndex(3));
  EXPECT_EQ(term, Term(3));
  EXPECT_EQ(*log.LastIndexOfTerm(Term(1), LogIndex(8)), LogIndex(2));
  EXPECT_FALSE(log.LastIndexOfTerm(Term(2), LogIndex(8)).has_value());
}

TEST(RaftLogTest, UpToDateComparesLastTermThenIndex) {
  MemoryLogStorage storage;
  RaftLog log(&storage, LogIndex(0), LogIndex(0));
  log.Append(Ents(1, 5, 2));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(1), Term(3)));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(5), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(4), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(9), Term(1)));
}

TEST(RaftLogTest, CommittedEntriesHandedOutOnceAndBoundedByBytes) {
  MemoryLogStorage storage;
  RaftLog log(&storage, LogIndex(0), LogIndex(0));
  log.Append(Ents(1, 5, 1));
  log.CommitTo(LogIndex(4));
  auto first = log.TakeCommittedToApply(2);  // 1 byte each
  EXPECT_EQ(first.size(), 2u);
  auto second = log.TakeCommittedToApply(100);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second.back().index, LogIndex(4));
  EXPECT_FALSE(log.HasCommittedToApply());
  log.AppliedTo(LogIndex(4));
  EXPECT_EQ(log.applied(), LogIndex(4));
}

}  // namespace
}  // namespace rq::raft
