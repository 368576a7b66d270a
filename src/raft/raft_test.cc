// One test per claim of the Raft dissertation (and per feature of the core),
// driven through the in-memory Network (test_network.h), which also checks
// election safety and state machine safety after every Ready.
#include "raft/raft.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "raft/test_network.h"

namespace rq::raft {
namespace {

using test::Msg;
using test::Network;

Config Base(bool pre_vote = true, bool check_quorum = true) {
  Config c;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.pre_vote = pre_vote;
  c.check_quorum = check_quorum;
  return c;
}

std::vector<std::pair<uint64_t, uint64_t>> LogOf(Network& net, const std::string& id) {
  MemoryLogStorage& s = *net.node(id).storage;
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (LogIndex i = s.first_index(); i <= s.last_index(); ++i) out.emplace_back(i.value(), s.term(i)->value());
  return out;
}

size_t CountDelivered(const Network& net, const std::function<bool(const Message&)>& pred) {
  size_t n = 0;
  for (const Message& m : net.delivered) n += pred(m) ? 1 : 0;
  return n;
}

ConfigChange Change(ConfigChangeType type, const std::string& id) { return ConfigChange{type, NodeId(id), {}}; }

// ---------------------------------------------------------------- elections

TEST(RaftElectionTest, SingleVoterBecomesLeaderOnCampaign) {
  Network net(1);
  net.Campaign("1");
  EXPECT_EQ(net.Leader(), "1");
  EXPECT_EQ(net.raft("1").term(), Term(2));
}

TEST(RaftElectionTest, FollowerCampaignsWithinRandomizedTimeout) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Network net(3, Base(), -1, seed);
    int ticks = 0;
    while (net.raft("1").role() == Role::kFollower && ticks < 100) {
      net.raft("1").Tick();
      ++ticks;
    }
    EXPECT_GE(ticks, 10);
    EXPECT_LT(ticks, 20);
    seen.insert(ticks);
  }
  EXPECT_GE(seen.size(), 4u) << "election timeouts are not randomized";
}

TEST(RaftElectionTest, ElectionSafety_AtMostOneLeaderPerTerm) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Network net(5, Base(seed % 2 == 0, seed % 3 != 0), -1, seed);
    Random random(seed);
    for (int step = 0; step < 300; ++step) {
      std::string id = std::to_string(1 + random.Uniform(5));
      switch (random.Uniform(6)) {
        case 0: net.Isolate(id); break;
        case 1: net.Heal(); break;
        case 2: net.Campaign(id); break;
        default: net.TickAll(1); break;
      }
    }
    net.Heal();
    net.TickAll(60);
    EXPECT_FALSE(net.Leader().empty()) << "seed " << seed;
  }
}

TEST(RaftElectionTest, ElectionRestriction_VoterRejectsStaleLog) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  net.Isolate("3");
  net.ProposeOnLeader("a");
  net.Stabilize();
  net.Heal();
  net.Isolate("1");
  net.Campaign("3");
  EXPECT_NE(net.raft("3").role(), Role::kLeader);
  net.Campaign("2");
  EXPECT_EQ(net.raft("2").role(), Role::kLeader);
}

TEST(RaftElectionTest, VoterGrantsAtMostOneVotePerTermAndPersistsIt) {
  Network net(3, Base(false, false));
  Raft& r = net.raft("1");
  r.Step(Msg("2", "1", 5, VoteRequest{LogIndex(3), Term(1), false, false}));
  r.Step(Msg("3", "1", 5, VoteRequest{LogIndex(3), Term(1), false, false}));
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote, NodeId("2"));
  EXPECT_EQ(rd.hard_state->term, Term(5));
  ASSERT_EQ(rd.messages.size(), 2u);
  EXPECT_TRUE(std::get<VoteResponse>(rd.messages[0].body).granted);
  EXPECT_FALSE(std::get<VoteResponse>(rd.messages[1].body).granted);
  r.Advance(rd);
  // Asked again by the same candidate, the voter repeats its vote.
  r.Step(Msg("2", "1", 5, VoteRequest{LogIndex(3), Term(1), false, false}));
  rd = r.GetReady();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(std::get<VoteResponse>(rd.messages[0].body).granted);
  r.Advance(rd);
}

TEST(RaftElectionTest, CandidateRejectedByMajorityReturnsToFollower) {
  Network net(3, Base(false, false));
  net.Isolate("1");
  net.Campaign("2");
  net.ProposeOnLeader("x");
  net.Stabilize();
  net.Heal();
  net.Campaign("1");
  EXPECT_EQ(net.raft("1").role(), Role::kFollower);
  EXPECT_EQ(net.Leader(), "2");
}

TEST(RaftElectionTest, StaleLeaderStepsDownOnHigherTerm) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  net.Isolate("1");
  net.Campaign("2");
  Term new_term = net.raft("2").term();
  net.Heal();
  net.TickAll(1);
  EXPECT_EQ(net.raft("1").role(), Role::kFollower);
  EXPECT_EQ(net.raft("1").term(), new_term);
  EXPECT_EQ(net.raft("1").leader(), NodeId("2"));
}

TEST(RaftElectionTest, LearnerNeverCampaigns) {
  Network net(3, Base(), /*voters=*/2);
  net.Tick("3", 100);
  net.raft("3").Campaign();
  net.Stabilize();
  EXPECT_EQ(net.raft("3").role(), Role::kFollower);
  EXPECT_EQ(net.raft("3").term(), Term(1));
}

TEST(RaftElectionTest, NodeNotInConfigDoesNotCampaign) {
  Network net(3);
  net.AddEmptyNode("9");
  net.Tick("9", 100);
  net.Stabilize();
  EXPECT_EQ(net.raft("9").role(), Role::kFollower);
  EXPECT_EQ(net.raft("9").term(), Term(0));
}

TEST(RaftElectionTest, ClusterElectsLeaderByTicksAlone) {
  Network net(5);
  net.TickAll(40);
  std::string leader = net.Leader();
  ASSERT_FALSE(leader.empty());
  for (const std::string& id : net.ids()) EXPECT_EQ(net.raft(id).leader(), NodeId(leader));
}

// ---------------------------------------------------------------- pre-vote, check-quorum

TEST(RaftPreVoteTest, PreVote_PartitionedNodeDoesNotDisruptLeader) {
  Network net(3);
  net.Campaign("1");
  Term term = net.raft("1").term();
  net.Isolate("3");
  net.TickAll(100);
  EXPECT_EQ(net.raft("3").term(), term) << "pre-vote must not bump the term";
  net.Heal();
  net.TickAll(30);
  EXPECT_EQ(net.Leader(), "1");
  EXPECT_EQ(net.raft("1").term(), term);
}

TEST(RaftPreVoteTest, WithoutPreVote_PartitionedNodeInflatesItsTerm) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  Term term = net.raft("1").term();
  net.Isolate("3");
  net.TickAll(100);
  EXPECT_GT(net.raft("3").term(), term);
}

TEST(RaftPreVoteTest, PreCandidateKeepsTermAndVote) {
  Network net(3);
  net.Isolate("2");
  net.Isolate("3");
  net.Campaign("1");
  EXPECT_EQ(net.raft("1").role(), Role::kPreCandidate);
  EXPECT_EQ(net.raft("1").term(), Term(1));
  EXPECT_TRUE(net.node("1").storage->initial_state().hard_state.vote.empty());
}

TEST(RaftCheckQuorumTest, CheckQuorum_IsolatedLeaderStepsDown) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("1");
  net.TickAll(25);
  EXPECT_NE(net.raft("1").role(), Role::kLeader);
  std::string leader = net.Leader();
  EXPECT_TRUE(leader == "2" || leader == "3");
}

TEST(RaftCheckQuorumTest, AnIsolatedLeaderStepsDownWhenItsLeaseRunsOut) {
  for (uint32_t lease : {0u, 3u, 6u}) {
    Config config = Base();
    config.lease_ticks = lease;
    Network net(3, config);
    net.Campaign("1");
    ASSERT_EQ(net.raft("1").role(), Role::kLeader);
    net.Isolate("1");
    const uint32_t expected = lease == 0 ? config.election_ticks : lease;
    uint32_t ticks = 0;
    while (net.raft("1").role() == Role::kLeader && ticks < 50) {
      net.raft("1").Tick();
      ++ticks;
    }
    EXPECT_EQ(net.raft("1").role(), Role::kFollower) << "lease " << lease;
    // The check at the end of a lease clears what the peers said in it, so
    // an isolated leader gives up within two leases.
    EXPECT_LE(ticks, 2 * expected) << "lease " << lease;
    EXPECT_GT(ticks, expected - 1) << "lease " << lease;
  }
}

TEST(RaftCheckQuorumTest, AConnectedLeaderKeepsItsLease) {
  Config config = Base();
  config.lease_ticks = 2;
  Network net(3, config);
  net.Campaign("1");
  net.TickAll(100);
  EXPECT_EQ(net.raft("1").role(), Role::kLeader);
}

TEST(RaftConfigTest, LeaseTicksAreBetweenTheHeartbeatAndTheElectionTimeout) {
  Config config = Base();
  config.id = NodeId("1");
  config.lease_ticks = 11;
  EXPECT_FALSE(config.Validate().ok());
  config.lease_ticks = 1;
  EXPECT_FALSE(config.Validate().ok());
  config.lease_ticks = 10;
  EXPECT_TRUE(config.Validate().ok());
}

TEST(RaftCheckQuorumTest, CheckQuorum_FollowerHearingLeaderIgnoresVotesUnlessTransfer) {
  Network net(3);
  net.Campaign("1");
  Raft& r = net.raft("2");
  Term term = r.term();
  r.Step(Msg("3", "2", term.value() + 1, VoteRequest{LogIndex(100), Term(100), false, false}));
  EXPECT_FALSE(r.HasReady());
  EXPECT_EQ(r.term(), term);
  r.Step(Msg("3", "2", term.value() + 1, VoteRequest{LogIndex(100), Term(100), false, true}));
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_TRUE(std::get<VoteResponse>(rd.messages[0].body).granted);
  r.Advance(rd);
}

TEST(RaftCheckQuorumTest, StaleLeaderLearnsNewTermFromRejectedAppend) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("1");
  net.TickAll(30);  // 1 steps down on its own; 2 or 3 lead now
  std::string leader = net.Leader();
  ASSERT_FALSE(leader.empty());
  net.Heal();
  net.TickAll(3);
  EXPECT_EQ(net.raft("1").leader(), NodeId(leader));
}

// ---------------------------------------------------------------- replication

TEST(RaftReplicationTest, LogReplication_CommittedEntriesAppliedOnAllNodesInOrder) {
  Network net(3);
  net.Campaign("1");
  for (std::string d : {"a", "b", "c"}) net.ProposeOnLeader(d);
  net.Stabilize();
  for (const std::string& id : net.ids()) {
    EXPECT_EQ(net.AppliedData(id), (std::vector<std::string>{"a", "b", "c"})) << id;
  }
}

TEST(RaftReplicationTest, LeaderAppendsNoopOfItsTermWhenElected) {
  Network net(3);
  net.Campaign("2");
  const Entry& last = net.node("2").applied.back();
  EXPECT_EQ(last.type, EntryType::kNoop);
  EXPECT_EQ(last.term, net.raft("2").term());
  EXPECT_EQ(net.node("3").applied.back(), last);
}

TEST(RaftReplicationTest, LogMatching_DivergentFollowerLogIsRepaired) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  net.Isolate("1");
  net.ProposeOnLeader("lost1");
  ASSERT_TRUE(net.raft("1").Propose("lost2").ok());
  net.Stabilize();
  net.Campaign("2");
  ASSERT_EQ(net.Leader(), "2");
  ASSERT_TRUE(net.raft("2").Propose("kept").ok());
  net.Stabilize();
  net.Heal();
  net.TickAll(3);
  EXPECT_EQ(LogOf(net, "1"), LogOf(net, "2"));
  EXPECT_EQ(LogOf(net, "3"), LogOf(net, "2"));
  EXPECT_EQ(net.AppliedData("1"), std::vector<std::string>{"kept"});
}

TEST(RaftReplicationTest, LeaderAppendOnly_StaleAppendDoesNotTouchLeaderLog) {
  Network net(3);
  net.Campaign("1");
  net.ProposeOnLeader("a");
  net.Stabilize();
  auto before = LogOf(net, "1");
  Term term = net.raft("1").term();
  std::vector<Entry> conflicting{Entry{Term(1), LogIndex(4), EntryType::kNormal, "evil"}};
  net.raft("1").Step(Msg("2", "1", term.value() - 1, AppendRequest{LogIndex(3), Term(1), conflicting, LogIndex(4), 0}));
  net.Stabilize();
  EXPECT_EQ(net.raft("1").role(), Role::kLeader);
  EXPECT_EQ(LogOf(net, "1"), before);
}

// Figure 3.7: an entry of an earlier term stored on a majority must not be
// committed by counting replicas; it commits with an entry of the current term.
TEST(RaftReplicationTest, CommitmentRule_OnlyCurrentTermEntriesCountedByReplicas) {
  Network net(5, Base(false, false));
  net.Campaign("1");  // term 2, noop at 6 committed everywhere
  LogIndex six(6);
  ASSERT_EQ(net.raft("5").commit_index(), six);
  // (a) 1 replicates entry 7 (term 2) to 2 only.
  net.filter = [](const Message& m) { return m.from == NodeId("1") && m.to != NodeId("2"); };
  ASSERT_EQ(net.ProposeOnLeader("old"), LogIndex(7));
  net.Stabilize();
  net.filter = nullptr;
  net.Crash("1");
  // (b) 5 wins term 3 with 3 and 4 and appends its noop at 7 locally only.
  net.Isolate("2");
  net.filter = [](const Message& m) { return m.from == NodeId("5") && std::holds_alternative<AppendRequest>(m.body); };
  net.Campaign("5");
  ASSERT_EQ(net.raft("5").role(), Role::kLeader);
  net.Crash("5");
  net.Heal();
  net.Restart("1");
  // (c) 1 wins term 4 (two tries: 3 and 4 voted in term 3) and talks only to 2.
  net.filter = [](const Message& m) {
    return m.from == NodeId("1") && m.to != NodeId("2") && std::holds_alternative<AppendRequest>(m.body);
  };
  net.Campaign("1");
  if (net.raft("1").role() != Role::kLeader) net.Campaign("1");
  ASSERT_EQ(net.raft("1").role(), Role::kLeader);
  Term term = net.raft("1").term();
  EXPECT_EQ(net.raft("1").commit_index(), six);
  // 3 reports it now stores entry 7: a majority (1, 2, 3) holds it, yet it is
  // from term 2, so it must not commit.
  net.raft("1").Step(Msg("3", "1", term.value(), AppendResponse{true, LogIndex(7), Term(0), 0}));
  net.Stabilize();
  EXPECT_EQ(net.raft("1").commit_index(), six);
  // Once the current term's noop (8) is on the majority, both commit.
  net.raft("1").Step(Msg("3", "1", term.value(), AppendResponse{true, LogIndex(8), Term(0), 0}));
  net.Stabilize();
  EXPECT_EQ(net.raft("1").commit_index(), LogIndex(8));
}

TEST(RaftReplicationTest, LeaderCountsOwnEntriesOnlyOncePersisted) {
  Network net(3);
  net.Campaign("1");
  net.node("1").auto_advance = false;
  net.filter = [](const Message& m) { return m.to == NodeId("3"); };
  LogIndex index = net.ProposeOnLeader("p");
  net.Stabilize();  // 2 acknowledges; the leader has not acknowledged its own write
  EXPECT_LT(net.raft("1").commit_index(), index);
  net.AdvanceHeld("1");
  EXPECT_EQ(net.raft("1").commit_index(), index);
  net.node("1").auto_advance = true;
  net.Stabilize();
}

TEST(RaftReplicationTest, SingleVoterCommitsOnlyAfterAdvance) {
  Network net(1);
  net.Campaign("1");
  Raft& r = net.raft("1");
  LogIndex index = *r.Propose("x");
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty());
  EXPECT_LT(r.commit_index(), index);
  net.node("1").storage->Append(rd.entries);
  r.Advance(rd);
  EXPECT_EQ(r.commit_index(), index);
  rd = r.GetReady();
  ASSERT_EQ(rd.committed_entries.size(), 1u);
  EXPECT_EQ(rd.committed_entries[0].data, "x");
  r.Advance(rd);
  EXPECT_EQ(r.applied_index(), index);
}

TEST(RaftReplicationTest, FastBacktrackingSkipsWholeConflictingTerm) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  net.Isolate("1");
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(net.raft("1").Propose("stale" + std::to_string(i)).ok());
  net.Stabilize();
  net.Campaign("2");
  ASSERT_TRUE(net.raft("2").Propose("new").ok());
  net.Stabilize();
  net.delivered.clear();
  net.Heal();
  net.TickAll(3);
  size_t rejections = CountDelivered(net, [](const Message& m) {
    auto* r = std::get_if<AppendResponse>(&m.body);
    return r != nullptr && !r->success && m.from == NodeId("1");
  });
  EXPECT_LE(rejections, 3u);
  EXPECT_EQ(LogOf(net, "1"), LogOf(net, "2"));
}

TEST(RaftReplicationTest, InflightWindowBoundsPipelinedAppends) {
  Config c = Base();
  c.max_inflight_appends = 4;
  Network net(3, c);
  net.Campaign("1");
  net.TickAll(1);
  net.filter = [](const Message& m) { return m.from == NodeId("3"); };  // 3's acks are lost
  net.delivered.clear();
  for (int i = 0; i < 10; ++i) {
    net.ProposeOnLeader("e" + std::to_string(i));
    net.Stabilize();
  }
  size_t appends = CountDelivered(net, [](const Message& m) {
    auto* a = std::get_if<AppendRequest>(&m.body);
    return a != nullptr && m.to == NodeId("3") && !a->entries.empty();
  });
  EXPECT_EQ(appends, 4u);
  net.filter = nullptr;
  net.TickAll(5);
  EXPECT_EQ(net.AppliedData("3").size(), 10u);
}

TEST(RaftReplicationTest, MaxAppendBytesLimitsEachMessage) {
  Config c = Base();
  c.max_append_bytes = 10;
  Network net(3, c);
  net.Campaign("1");
  net.Isolate("3");
  for (int i = 0; i < 10; ++i) net.ProposeOnLeader("12345");
  net.Stabilize();
  net.Heal();
  net.delivered.clear();
  net.TickAll(5);
  for (const Message& m : net.delivered) {
    if (auto* a = std::get_if<AppendRequest>(&m.body)) {
      uint64_t bytes = 0;
      for (const Entry& e : a->entries) bytes += e.data.size();
      EXPECT_TRUE(bytes <= 10 || a->entries.size() == 1);
    }
  }
  EXPECT_EQ(net.AppliedData("3").size(), 10u);
}

TEST(RaftReplicationTest, ProposalOnFollowerReturnsNotLeaderNamingLeader) {
  Network net(3);
  net.Campaign("1");
  auto r = net.raft("2").Propose("x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotLeader());
  EXPECT_EQ(r.status().message(), "1");
}

TEST(RaftReplicationTest, UncommittedBytesLimitReturnsBusy) {
  Config c = Base();
  c.max_uncommitted_bytes = 100;
  Network net(3, c);
  net.Campaign("1");
  net.Isolate("2");
  net.Isolate("3");
  EXPECT_TRUE(net.raft("1").Propose(std::string(60, 'a')).ok());
  auto busy = net.raft("1").Propose(std::string(60, 'b'));
  EXPECT_TRUE(busy.status().IsBusy());
  net.Heal();
  net.TickAll(2);
  EXPECT_TRUE(net.raft("1").Propose(std::string(60, 'c')).ok());
}

TEST(RaftReplicationTest, RestartedNodeResumesWithoutReapplying) {
  Network net(3);
  net.Campaign("1");
  net.ProposeOnLeader("a");
  net.ProposeOnLeader("b");
  net.Stabilize();
  Term term = net.raft("3").term();
  net.Crash("3");
  net.ProposeOnLeader("c");
  net.Stabilize();
  net.Restart("3");
  EXPECT_EQ(net.raft("3").term(), term);
  net.TickAll(3);
  EXPECT_EQ(net.AppliedData("3"), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(RaftReplicationTest, ReportUnreachableFallsBackToProbing) {
  Network net(3);
  net.Campaign("1");
  net.Crash("3");
  for (int i = 0; i < 3; ++i) net.ProposeOnLeader("u" + std::to_string(i));
  net.Stabilize();
  net.raft("1").ReportUnreachable(NodeId("3"));
  net.Restart("3");
  net.delivered.clear();
  net.TickAll(1);
  // Probing: the heartbeat carries the last known match, not the optimistic next.
  bool probed = false;
  for (const Message& m : net.delivered) {
    auto* a = std::get_if<AppendRequest>(&m.body);
    if (a != nullptr && m.to == NodeId("3") && a->entries.empty()) probed = a->prev_log_index < net.raft("1").last_index();
  }
  EXPECT_TRUE(probed);
  net.TickAll(3);
  EXPECT_EQ(net.AppliedData("3"), net.AppliedData("1"));
}

TEST(RaftReplicationTest, RestartWithAppliedIndexDoesNotReapply) {
  Network net(1);
  net.Campaign("1");
  net.ProposeOnLeader("a");
  net.Stabilize();
  size_t applied = net.node("1").applied.size();
  net.Crash("1");
  net.Restart("1");  // config.applied = last applied index
  net.Stabilize();
  EXPECT_EQ(net.node("1").applied.size(), applied);
  EXPECT_EQ(net.raft("1").applied_index(), net.node("1").applied.back().index);
}

TEST(RaftReplicationTest, MalformedAppendIsDropped) {
  Network net(3);
  net.Campaign("1");
  Raft& r = net.raft("2");
  LogIndex last = r.last_index();
  Term term = r.term();
  std::vector<Entry> gap{Entry{term, last + 2, EntryType::kNormal, "x"}};
  r.Step(Msg("1", "2", term.value(), AppendRequest{last, term, gap, last, 0}));
  r.Step(Msg("1", "9", term.value(), AppendRequest{last, term, {}, last, 0}));  // not for us
  EXPECT_FALSE(r.HasReady());
  EXPECT_EQ(r.last_index(), last);
}

TEST(RaftReplicationTest, StateMachineSafety_RandomFaultsKeepReplicasConsistent) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    Config c = Base();
    c.max_inflight_appends = 1 + seed % 4;
    Network net(5, c, -1, seed);
    Random random(seed * 7);
    int proposed = 0;
    for (int step = 0; step < 400; ++step) {
      std::string id = std::to_string(1 + random.Uniform(5));
      uint64_t action = random.Uniform(10);
      if (action == 0) {
        net.Isolate(id);
      } else if (action == 1) {
        net.Heal();
      } else if (action == 2 && net.node(id).alive) {
        net.Crash(id);
      } else if (action == 3 && !net.node(id).alive) {
        net.Restart(id);
      } else if (action <= 5) {
        std::string leader = net.Leader();
        if (!leader.empty() && net.raft(leader).Propose("v" + std::to_string(step)).ok()) ++proposed;
        net.Stabilize();
      } else {
        net.TickAll(1);
      }
    }
    net.Heal();
    for (const std::string& id : net.ids()) {
      if (!net.node(id).alive) net.Restart(id);
    }
    net.TickAll(60);
    std::string leader = net.Leader();
    ASSERT_FALSE(leader.empty()) << "seed " << seed;
    net.ProposeOnLeader("final");
    net.TickAll(5);
    for (const std::string& id : net.ids()) {
      EXPECT_EQ(net.AppliedData(id), net.AppliedData(leader)) << "seed " << seed << " node " << id;
    }
    EXPECT_GT(proposed, 0);
  }
}

// ---------------------------------------------------------------- membership

TEST(RaftMembershipTest, AddVoterTakesEffectWhenAppendedOnEveryNode) {
  Network net(3);
  net.Campaign("1");
  net.AddEmptyNode("4");
  net.Isolate("2");
  net.Isolate("3");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddVoter, "4")).ok());
  EXPECT_TRUE(net.raft("1").membership().IsVoter(NodeId("4")));  // before commit
  net.Heal();
  net.TickAll(3);
  for (const std::string& id : net.ids()) {
    EXPECT_EQ(net.raft(id).membership().voters.size(), 4u) << id;
    ASSERT_TRUE(net.node(id).reported_membership.has_value()) << id;
    EXPECT_TRUE(net.node(id).reported_membership->IsVoter(NodeId("4"))) << id;
  }
  // The joiner learned the bootstrap membership from the log itself.
  EXPECT_EQ(net.node("4").applied, net.node("1").applied);
}

TEST(RaftMembershipTest, OnlyOneUncommittedChangeAtATime) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("2");
  net.Isolate("3");
  EXPECT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "4")).ok());
  auto second = net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "5"));
  EXPECT_TRUE(second.status().IsBusy());
  net.Heal();
  net.TickAll(2);
  EXPECT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "5")).ok());
}

TEST(RaftMembershipTest, InvalidChangesAreRejected) {
  Network net(1);
  net.Campaign("1");
  EXPECT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddVoter, "1")).status().IsInvalidArgument());
  EXPECT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kRemove, "7")).status().IsInvalidArgument());
  EXPECT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kRemove, "1")).status().IsInvalidArgument());
}

TEST(RaftMembershipTest, LearnerReplicatesButDoesNotCountTowardCommit) {
  Network net(3, Base(), /*voters=*/2);
  net.Campaign("1");
  net.ProposeOnLeader("a");
  net.Stabilize();
  EXPECT_EQ(net.AppliedData("3"), std::vector<std::string>{"a"});
  net.Isolate("2");
  LogIndex index = net.ProposeOnLeader("b");
  net.Stabilize();
  EXPECT_EQ(net.raft("3").last_index(), index);
  EXPECT_LT(net.raft("1").commit_index(), index);
}

TEST(RaftMembershipTest, PromotedLearnerCountsTowardCommit) {
  Network net(3, Base(), /*voters=*/2);
  net.Campaign("1");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddVoter, "3")).ok());
  net.Stabilize();
  EXPECT_TRUE(net.raft("3").membership().IsVoter(NodeId("3")));
  net.Isolate("2");
  LogIndex index = net.ProposeOnLeader("b");
  net.Stabilize();
  EXPECT_EQ(net.raft("1").commit_index(), index);
}

TEST(RaftMembershipTest, RemovedLeaderStepsDownAfterCommitAndStaysQuiet) {
  Network net(3);
  net.Campaign("1");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kRemove, "1")).ok());
  EXPECT_EQ(net.raft("1").role(), Role::kLeader);  // until the removal commits
  net.Stabilize();
  EXPECT_NE(net.raft("1").role(), Role::kLeader);
  Term term = net.raft("1").term();
  net.TickAll(40);
  std::string leader = net.Leader();
  EXPECT_TRUE(leader == "2" || leader == "3");
  EXPECT_EQ(net.raft("1").term(), term);
  EXPECT_EQ(net.raft(leader).membership().voters.size(), 2u);
}

TEST(RaftMembershipTest, UncommittedConfigEntryRevertsWhenTruncated) {
  Network net(3, Base(false, false));
  net.Campaign("1");
  net.Isolate("1");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "9")).ok());
  EXPECT_TRUE(net.raft("1").membership().IsLearner(NodeId("9")));
  net.Campaign("2");
  ASSERT_TRUE(net.raft("2").Propose("x").ok());
  net.Stabilize();
  net.Heal();
  net.TickAll(3);
  EXPECT_FALSE(net.raft("1").membership().Contains(NodeId("9")));
  EXPECT_EQ(net.raft("1").membership(), net.raft("2").membership());
}

TEST(RaftMembershipTest, BootstrapRequiresEmptyStorage) {
  Network net(1);
  Membership m;
  m.voters = {NodeId("1")};
  EXPECT_TRUE(net.raft("1").Bootstrap(m).IsInvalidArgument());
}

TEST(RaftMembershipTest, RestartRecoversMembershipFromLog) {
  Network net(3);
  net.Campaign("1");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "7")).ok());
  net.Stabilize();
  net.Crash("2");
  net.Restart("2");
  EXPECT_TRUE(net.raft("2").membership().IsLearner(NodeId("7")));
  EXPECT_EQ(net.raft("2").membership().voters.size(), 3u);
}

// ---------------------------------------------------------------- ReadIndex

TEST(RaftReadIndexTest, ReadIndex_LeaderConfirmsLeadershipWithQuorumHeartbeat) {
  Network net(3);
  net.Campaign("1");
  net.ProposeOnLeader("a");
  net.Stabilize();
  ASSERT_TRUE(net.raft("1").ReadIndex(7).ok());
  EXPECT_TRUE(net.node("1").reads.empty());
  net.Stabilize();
  ASSERT_EQ(net.node("1").reads.size(), 1u);
  EXPECT_EQ(net.node("1").reads[0].read_id, 7u);
  EXPECT_EQ(net.node("1").reads[0].index, net.raft("1").commit_index());
}

TEST(RaftReadIndexTest, ReadIndex_IsolatedLeaderCannotServe) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("1");
  ASSERT_TRUE(net.raft("1").ReadIndex(8).ok());
  net.Stabilize();
  EXPECT_TRUE(net.node("1").reads.empty());
}

TEST(RaftReadIndexTest, ReadIndex_PendsUntilLeaderCommitsEntryOfItsTerm) {
  Network net(3);
  net.filter = [](const Message& m) { return std::holds_alternative<AppendResponse>(m.body); };
  net.Campaign("1");
  ASSERT_EQ(net.raft("1").role(), Role::kLeader);
  ASSERT_TRUE(net.raft("1").ReadIndex(9).ok());
  net.Stabilize();
  EXPECT_TRUE(net.node("1").reads.empty());
  net.filter = nullptr;
  net.TickAll(2);
  ASSERT_EQ(net.node("1").reads.size(), 1u);
  EXPECT_GE(net.node("1").reads[0].index, net.node("1").applied.back().index - 0);
  EXPECT_EQ(net.node("1").reads[0].read_id, 9u);
}

TEST(RaftReadIndexTest, ReadIndex_FollowerReturnsNotLeader) {
  Network net(3);
  net.Campaign("1");
  EXPECT_TRUE(net.raft("2").ReadIndex(1).IsNotLeader());
}

TEST(RaftReadIndexTest, ReadIndex_SingleVoterAnswersImmediately) {
  Network net(1);
  net.Campaign("1");
  ASSERT_TRUE(net.raft("1").ReadIndex(5).ok());
  net.Stabilize();
  ASSERT_EQ(net.node("1").reads.size(), 1u);
  EXPECT_EQ(net.node("1").reads[0].index, net.raft("1").commit_index());
}

TEST(RaftReadIndexTest, ReadIndex_TooManyPendingReadsIsBusy) {
  Config c = Base();
  c.max_pending_reads = 2;
  Network net(3, c);
  net.Campaign("1");
  net.Isolate("1");
  EXPECT_TRUE(net.raft("1").ReadIndex(1).ok());
  EXPECT_TRUE(net.raft("1").ReadIndex(2).ok());
  EXPECT_TRUE(net.raft("1").ReadIndex(3).IsBusy());
}

TEST(RaftReadIndexTest, ReadIndex_ConcurrentReadsShareOneConfirmation) {
  Network net(3);
  net.Campaign("1");
  net.filter = [](const Message& m) { return std::holds_alternative<AppendResponse>(m.body); };
  ASSERT_TRUE(net.raft("1").ReadIndex(1).ok());
  ASSERT_TRUE(net.raft("1").ReadIndex(2).ok());
  net.Stabilize();
  EXPECT_TRUE(net.node("1").reads.empty());
  net.filter = nullptr;
  // Read 1's round was lost; reads 2 and 3 wait for the next round, which
  // the next tick's heartbeat carries: it confirms all three.
  ASSERT_TRUE(net.raft("1").ReadIndex(3).ok());
  net.Stabilize();
  EXPECT_TRUE(net.node("1").reads.empty());
  net.TickAll(1);
  net.Stabilize();
  ASSERT_EQ(net.node("1").reads.size(), 3u);
  EXPECT_EQ(net.node("1").reads[0].read_id, 1u);
  EXPECT_EQ(net.node("1").reads[2].read_id, 3u);
}

TEST(RaftReadIndexTest, ReadIndex_ReadsArrivingDuringARoundShareTheNextOne) {
  Network net(3);
  net.Campaign("1");
  net.Stabilize();
  auto heartbeats = [&net] {
    size_t n = 0;
    for (const Message& m : net.delivered) {
      const auto* append = std::get_if<AppendRequest>(&m.body);
      n += append != nullptr && append->read_context != 0;
    }
    return n;
  };
  const size_t before = heartbeats();
  // One round goes out for the first read; the next nine wait for the
  // second round, sent once the first is confirmed: two rounds, not ten.
  for (uint64_t id = 1; id <= 10; ++id) ASSERT_TRUE(net.raft("1").ReadIndex(id).ok());
  net.Stabilize();
  ASSERT_EQ(net.node("1").reads.size(), 10u);
  for (uint64_t id = 1; id <= 10; ++id) EXPECT_EQ(net.node("1").reads[id - 1].read_id, id);
  EXPECT_EQ(heartbeats() - before, 2u * 2u) << "two rounds to two followers";
}

TEST(RaftReadIndexTest, ReadIndex_PendingReadsAreDroppedOnStepDown) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("1");
  ASSERT_TRUE(net.raft("1").ReadIndex(4).ok());
  net.TickAll(25);  // check-quorum deposes 1
  net.Heal();
  net.TickAll(3);
  EXPECT_TRUE(net.node("1").reads.empty());
}

// ---------------------------------------------------------------- leadership transfer

TEST(RaftTransferTest, Transfer_TargetBecomesLeaderDespiteStickiness) {
  Network net(3);
  net.Campaign("1");
  Term term = net.raft("1").term();
  ASSERT_TRUE(net.raft("1").TransferLeadership(NodeId("3")).ok());
  net.Stabilize();
  EXPECT_EQ(net.Leader(), "3");
  EXPECT_EQ(net.raft("3").term(), term + 1);
  EXPECT_EQ(net.raft("1").leader(), NodeId("3"));
}

TEST(RaftTransferTest, Transfer_LaggingTargetIsCaughtUpFirst) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("3");
  for (int i = 0; i < 5; ++i) net.ProposeOnLeader("w" + std::to_string(i));
  net.Stabilize();
  net.Heal();
  ASSERT_TRUE(net.raft("1").TransferLeadership(NodeId("3")).ok());
  net.TickAll(4);
  EXPECT_EQ(net.Leader(), "3");
  EXPECT_EQ(net.AppliedData("3").size(), 5u);
}

TEST(RaftTransferTest, Transfer_LeaderRejectsProposalsWhileTransferring) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("3");
  ASSERT_TRUE(net.raft("1").TransferLeadership(NodeId("3")).ok());
  EXPECT_TRUE(net.raft("1").Propose("x").status().IsBusy());
}

TEST(RaftTransferTest, Transfer_AbortsAfterElectionTimeout) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("3");
  ASSERT_TRUE(net.raft("1").TransferLeadership(NodeId("3")).ok());
  net.TickAll(11);
  EXPECT_EQ(net.Leader(), "1");
  EXPECT_TRUE(net.raft("1").Propose("x").ok());
}

TEST(RaftTransferTest, Transfer_ToNonVoterIsRejected) {
  Network net(3, Base(), /*voters=*/2);
  net.Campaign("1");
  EXPECT_TRUE(net.raft("1").TransferLeadership(NodeId("3")).IsInvalidArgument());
  EXPECT_TRUE(net.raft("2").TransferLeadership(NodeId("1")).IsNotLeader());
}

// ---------------------------------------------------------------- snapshots

TEST(RaftSnapshotTest, Snapshot_LaggingFollowerReceivesInstallSnapshot) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("3");
  for (int i = 0; i < 10; ++i) net.ProposeOnLeader("s" + std::to_string(i));
  net.Stabilize();
  net.Snapshot("1", 0);
  EXPECT_GT(net.node("1").storage->first_index(), net.raft("3").last_index() + 1);
  net.Heal();
  net.delivered.clear();
  net.TickAll(3);
  EXPECT_EQ(CountDelivered(net, [](const Message& m) { return std::holds_alternative<InstallSnapshotRequest>(m.body); }), 1u);
  EXPECT_EQ(net.AppliedData("3"), net.AppliedData("1"));
  EXPECT_EQ(net.raft("3").membership(), net.raft("1").membership());
  // Replication continues normally after the snapshot.
  net.ProposeOnLeader("after");
  net.Stabilize();
  EXPECT_EQ(net.AppliedData("3").back(), "after");
}

TEST(RaftSnapshotTest, Snapshot_FailedTransferIsRetriedAfterReport) {
  Network net(3);
  net.Campaign("1");
  net.Isolate("3");
  for (int i = 0; i < 5; ++i) net.ProposeOnLeader("s" + std::to_string(i));
  net.Stabilize();
  net.Snapshot("1", 0);
  net.Heal();
  net.report_snapshots = false;
  net.filter = [](const Message& m) { return std::holds_alternative<InstallSnapshotRequest>(m.body); };
  net.TickAll(3);
  net.filter = nullptr;
  net.TickAll(3);
  EXPECT_TRUE(net.AppliedData("3").empty()) << "waits in snapshot state until reported";
  net.raft("1").ReportSnapshot(NodeId("3"), false);
  net.TickAll(3);
  EXPECT_EQ(net.AppliedData("3"), net.AppliedData("1"));
}

TEST(RaftSnapshotTest, Snapshot_CompactBeyondAppliedIsRejected) {
  Network net(1);
  net.Campaign("1");
  LogIndex applied = net.raft("1").applied_index();
  EXPECT_TRUE(net.raft("1").Compact(applied + 5, 0).IsInvalidArgument());
  EXPECT_TRUE(net.raft("1").Compact(applied, 0).IsInvalidArgument()) << "no snapshot stored yet";
  EXPECT_TRUE(net.raft("1").SnapshotMetaFor(applied + 1).status().IsNotFound());
}

TEST(RaftSnapshotTest, Snapshot_RestartFromCompactedLogKeepsMembershipAndState) {
  Network net(3);
  net.Campaign("1");
  ASSERT_TRUE(net.raft("1").ProposeConfigChange(Change(ConfigChangeType::kAddLearner, "4")).ok());
  net.Stabilize();
  net.ProposeOnLeader("z");
  net.Stabilize();
  net.Snapshot("2", 0);
  net.Crash("2");
  net.Restart("2");
  EXPECT_TRUE(net.raft("2").membership().IsLearner(NodeId("4")));
  EXPECT_EQ(net.raft("2").applied_index(), net.raft("1").commit_index());
  net.ProposeOnLeader("y");
  net.TickAll(2);
  EXPECT_EQ(net.AppliedData("2"), (std::vector<std::string>{"z", "y"}));
}

TEST(RaftReadyTest, ReadyOrderPersistsHardStateBeforeMessagesDependOnIt) {
  Network net(3, Base(false, false));
  Raft& r = net.raft("2");
  r.Campaign();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote, NodeId("2"));
  EXPECT_EQ(rd.messages.size(), 2u);
  EXPECT_FALSE(r.HasReady()) << "one Ready at a time";
  r.Advance(rd);
}

}  // namespace
}  // namespace rq::raft

namespace rq::raft {
namespace {

// Everything at once under message loss, duplication and reordering, with
// crashes, partitions, membership changes, transfers, reads and compaction.
// The network checks election and state machine safety after every Ready.
int RunChaos(uint64_t seed, int steps, int& reads_served) {
  // Without both pre-vote and check-quorum a removed server can disrupt the
  // cluster forever (§4.2.3), so every run keeps at least one of them.
  bool pre_vote = seed % 4 != 0;
  Config c = Base(pre_vote, seed % 3 != 0 || !pre_vote);
  c.max_inflight_appends = 1 + seed % 8;
  c.max_append_bytes = 1 + seed % 64;
  Network net(7, c, /*voters=*/5, seed);
  Random random(seed * 7919);
  net.chaos = &random;
  net.drop_pct = (seed % 3) * 5;
  net.dup_pct = (seed % 2) * 5;
  net.delay_pct = (seed % 5) * 5;
  int proposed = 0;
  std::map<uint64_t, LogIndex> read_floor;
  for (int step = 0; step < steps; ++step) {
    std::string id = std::to_string(1 + random.Uniform(7));
    std::string leader = net.Leader();
    switch (random.Uniform(16)) {
      case 0: net.Isolate(id); break;
      case 1: net.Heal(); break;
      case 2:
        if (net.node(id).alive) net.Crash(id);
        break;
      case 3:
        if (!net.node(id).alive) net.Restart(id);
        break;
      case 4:
        if (!leader.empty()) {
          const Membership& m = net.raft(leader).membership();
          NodeId target(id);
          ConfigChange change{ConfigChangeType::kAddLearner, target, {}};
          if (m.IsLearner(target)) change.type = ConfigChangeType::kAddVoter;
          if (m.IsVoter(target)) {
            change.type = ConfigChangeType::kRemove;
            if (m.voters.size() <= 3 || id == leader) break;
          }
          (void)net.raft(leader).ProposeConfigChange(change);
        }
        break;
      case 5:
        if (!leader.empty()) (void)net.raft(leader).TransferLeadership(NodeId(id));
        break;
      case 6:
        // Linearizability: a confirmed read index covers every entry that
        // any node knew to be committed when the read was requested.
        if (!leader.empty() && net.raft(leader).ReadIndex(step + 1).ok()) {
          LogIndex committed;
          for (const std::string& n : net.ids()) committed = std::max(committed, net.raft(n).commit_index());
          read_floor[step + 1] = committed;
        }
        break;
      case 7:
        if (net.node(id).alive && net.raft(id).applied_index() > net.node(id).storage->snapshot().index) {
          net.Snapshot(id, random.Uniform(4));
        }
        break;
      case 8:
      case 9:
      case 10:
        if (!leader.empty() && net.raft(leader).Propose("v" + std::to_string(step)).ok()) ++proposed;
        net.Stabilize();
        break;
      default: net.TickAll(1); break;
    }
  }
  net.chaos = nullptr;
  for (const std::string& id : net.ids()) {
    for (const ReadState& r : net.node(id).reads) {
      EXPECT_EQ(read_floor.count(r.read_id), 1u);
      EXPECT_GE(r.index, read_floor[r.read_id]) << "stale read " << r.read_id << " seed " << seed;
      ++reads_served;
    }
  }
  net.Heal();
  for (const std::string& id : net.ids()) {
    if (!net.node(id).alive) net.Restart(id);
  }
  // Liveness is probabilistic: without pre-vote, servers removed while they
  // were down keep disrupting elections until a voter times out first.
  net.TickAll(20);
  for (int i = 0; i < 60 && net.Leader().empty(); ++i) net.TickAll(10);
  std::string leader = net.Leader();
  EXPECT_FALSE(leader.empty()) << "seed " << seed;
  if (leader.empty()) return proposed;
  net.ProposeOnLeader("final");
  net.TickAll(10);
  const Membership& m = net.raft(leader).membership();
  for (const std::string& id : net.ids()) {
    if (!m.Contains(NodeId(id))) continue;
    EXPECT_EQ(net.AppliedData(id), net.AppliedData(leader)) << "seed " << seed << " node " << id;
  }
  return proposed;
}

TEST(RaftChaosTest, SafetyHoldsUnderLossReorderingCrashesAndReconfiguration) {
  uint64_t seeds = 40;
  if (const char* env = std::getenv("RAFT_CHAOS_SEEDS")) seeds = std::strtoull(env, nullptr, 10);
  uint64_t first = 1;
  int total = 0;
  int reads = 0;
  if (const char* env = std::getenv("RAFT_CHAOS_FIRST")) first = std::strtoull(env, nullptr, 10);
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    SCOPED_TRACE(seed);
    total += RunChaos(seed, 600, reads);
    if (HasFailure()) return;
  }
  EXPECT_GT(total, static_cast<int>(seeds)) << "chaos runs committed almost nothing";
  EXPECT_GT(reads, 0);
  std::printf("chaos: %llu seeds, %d proposals accepted, %d reads served\n", static_cast<unsigned long long>(seeds),
              total, reads);
}

}  // namespace
}  // namespace rq::raft
