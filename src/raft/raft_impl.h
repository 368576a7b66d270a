// Raft::Impl, the state behind the Raft facade, shared by raft.cc and the
// raft_*.cc files that implement it one concern at a time. Internal to the
// core. Paper references are to Ongaro's dissertation (2014).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "raft/progress.h"
#include "raft/raft.h"
#include "raft/raft_log.h"

namespace rq::raft {

namespace internal {

inline const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

inline bool IsSortedUnique(const std::vector<NodeId>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) return false;
  }
  return true;
}

inline bool ValidMembership(const Membership& m) {
  if (!IsSortedUnique(m.voters) || !IsSortedUnique(m.learners)) return false;
  for (const NodeId& l : m.learners) {
    if (m.IsVoter(l)) return false;
  }
  return true;
}

inline size_t Quorum(size_t voters) { return voters / 2 + 1; }

}  // namespace internal

class Raft::Impl {
 public:
  Impl(const Config& config, LogStorage* storage, Random* random, Logger* logger);

  Status Bootstrap(const std::vector<ConfigChange>& members);
  void Tick();
  void Step(const Message& m);
  Result<LogIndex> Propose(std::string data);
  Result<LogIndex> ProposeConfigChange(const ConfigChange& change);
  Status ReadIndex(uint64_t read_id);
  Status TransferLeadership(const NodeId& target);
  void Campaign(bool transfer);
  void ReportSnapshot(const NodeId& peer, bool success);
  void ReportUnreachable(const NodeId& peer);
  Result<SnapshotMeta> SnapshotMetaFor(LogIndex index) const;
  Status Compact(LogIndex index, uint64_t trailing_entries);
  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  const NodeId& id() const { return cfg_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  LogIndex commit_index() const { return log_.committed(); }
  LogIndex applied_index() const { return log_.applied(); }
  LogIndex last_index() const { return log_.last_index(); }
  Term last_term() const { return log_.last_term(); }
  const Membership& membership() const { return membership_; }
  std::vector<std::pair<NodeId, LogIndex>> progress() const;

 private:
  struct PendingRead {
    uint64_t read_id;
    LogIndex index;
    uint64_t context;
    std::set<NodeId> acks;
  };

  template <typename... Args>
  void Log(Logger::Level level, fmt::format_string<Args...> format, Args&&... args) {
    if (!logger_->Enabled(level)) return;
    std::string line = fmt::format("[{} t{} {}] ", cfg_.id.value(), term_.value(), internal::RoleName(role_));
    line += fmt::format(format, std::forward<Args>(args)...);
    logger_->Log(level, line);
  }

  // ---- roles ----
  void Reset(Term term);
  void BecomeFollower(Term term, const NodeId& leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void ResetRandomizedTimeout();
  bool Promotable() const { return membership_.IsVoter(cfg_.id); }
  bool InLease() const {
    return cfg_.check_quorum && !leader_.empty() && election_elapsed_ < cfg_.election_ticks;
  }

  // ---- elections ----
  void StartElection(bool pre_vote, bool transfer);
  void HandleVoteRequest(const Message& m, const VoteRequest& req);
  void HandleVoteResponse(const Message& m, const VoteResponse& resp);
  // Win/lose/pending for the current tally.
  int TallyVotes() const;

  // ---- replication ----
  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleAppend(const Message& m, const AppendRequest& req);
  void HandleSnapshot(const Message& m, const InstallSnapshotRequest& req);
  void HandleAppendResponse(const Message& m, const AppendResponse& resp);
  void RespondAppend(const NodeId& to, bool success, LogIndex match_or_hint, Term conflict_term,
                     uint64_t read_context);
  // Returns true when entries were sent.
  bool SendAppend(const NodeId& to, bool allow_empty);
  void SendHeartbeat(const NodeId& to, uint64_t read_context);
  void SendSnapshot(const NodeId& to);
  void SendTimeoutNow(const NodeId& to);
  void BroadcastHeartbeat(uint64_t read_context);
  void Send(const NodeId& to, MessageBody body) { Send(to, std::move(body), term_); }
  void Send(const NodeId& to, MessageBody body, Term term) {
    msgs_.push_back(Message{cfg_.id, to, term, std::move(body)});
  }
  Result<LogIndex> AppendLeaderEntry(EntryType type, std::string data);
  void AppendToLog(const std::vector<Entry>& entries);
  bool MaybeCommit();
  void OnCommitAdvanced();
  LogIndex QuorumMatchIndex() const;
  bool QuorumActive() const;
  bool CommittedInCurrentTerm() const;
  void AbortTransfer(const char* why);

  // ---- membership ----
  void OnEntriesAppended(const std::vector<Entry>& entries);
  void OnTruncated(LogIndex from);
  // Adds progress for new members (starting at `next`), drops removed ones.
  void SyncProgress(LogIndex next);
  LogIndex LastConfigIndex() const { return history_.empty() ? base_index_ : history_.back().first; }
  std::optional<Membership> MembershipAt(LogIndex index) const;
  void PruneHistory(LogIndex upto);

  // ---- reads ----
  void StartRead(uint64_t read_id);
  void AckRead(const NodeId& from, uint64_t context);
  // Broadcasts the next heartbeat round of ReadIndex confirmations.
  void SendReadRound();
  void ReleaseWaitingReads();
  size_t PendingReadCount() const { return reads_.size() + waiting_reads_.size(); }

  void CheckInvariants() const;

  Config cfg_;
  LogStorage* storage_;
  Random* random_;
  Logger* logger_;
  RaftLog log_;

  Term term_;
  NodeId vote_;
  NodeId leader_;
  Role role_ = Role::kFollower;
  uint32_t election_elapsed_ = 0;
  uint32_t lease_elapsed_ = 0;  // leader: ticks since the last quorum check
  uint32_t heartbeat_elapsed_ = 0;
  uint32_t randomized_timeout_ = 0;

  // Membership = base_ (as of base_index_) + config entries in history_, each
  // with the membership after it (§4.1: effective once appended).
  Membership base_;
  LogIndex base_index_;
  std::deque<std::pair<LogIndex, Membership>> history_;
  Membership membership_;

  // Candidate state.
  std::map<NodeId, bool> votes_;
  // Leader state.
  std::map<NodeId, Progress> progress_;
  NodeId transferee_;
  std::deque<std::pair<LogIndex, uint64_t>> uncommitted_;  // (index, bytes) of own proposals
  uint64_t uncommitted_bytes_ = 0;
  std::deque<PendingRead> reads_;        // ascending context
  std::vector<uint64_t> waiting_reads_;  // until an entry of this term commits
  uint64_t read_context_seq_ = 0;

  // Output.
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  SoftState prev_soft_;
  HardState prev_hard_;
  bool ready_outstanding_ = false;
};

}  // namespace rq::raft
