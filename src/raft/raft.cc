// The Raft core. Structure follows etcd's raft.go: term rules run once at the
// top of Step, then a per-role handler; become*() reset per-term state.
// Paper references are to Ongaro's dissertation (2014).
#include "raft/raft.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "raft/progress.h"
#include "raft/raft_log.h"

namespace rq::raft {

Status Config::Validate() const {
  if (id.empty()) return Status::InvalidArgument("raft: node id is empty");
  if (heartbeat_ticks == 0) return Status::InvalidArgument("raft: heartbeat_ticks must be > 0");
  if (election_ticks <= heartbeat_ticks) {
    return Status::InvalidArgument("raft: election_ticks must exceed heartbeat_ticks");
  }
  if (max_inflight_appends == 0) return Status::InvalidArgument("raft: max_inflight_appends must be > 0");
  if (max_append_bytes == 0) return Status::InvalidArgument("raft: max_append_bytes must be > 0");
  if (max_uncommitted_bytes == 0) return Status::InvalidArgument("raft: max_uncommitted_bytes must be > 0");
  if (max_committed_bytes_per_ready == 0) {
    return Status::InvalidArgument("raft: max_committed_bytes_per_ready must be > 0");
  }
  if (max_pending_reads == 0) return Status::InvalidArgument("raft: max_pending_reads must be > 0");
  return Status::OK();
}

bool Ready::empty() const {
  return !soft_state && !hard_state && entries.empty() && !snapshot && messages.empty() &&
         committed_entries.empty() && read_states.empty() && !membership;
}

namespace {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

bool IsSortedUnique(const std::vector<NodeId>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) return false;
  }
  return true;
}

bool ValidMembership(const Membership& m) {
  if (!IsSortedUnique(m.voters) || !IsSortedUnique(m.learners)) return false;
  for (const NodeId& l : m.learners) {
    if (m.IsVoter(l)) return false;
  }
  return true;
}

size_t Quorum(size_t voters) { return voters / 2 + 1; }

}  // namespace

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
    std::string line = fmt::format("[{} t{} {}] ", cfg_.id.value(), term_.value(), RoleName(role_));
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

// ---------------------------------------------------------------------------
// Construction and restart.

Raft::Impl::Impl(const Config& config, LogStorage* storage, Random* random, Logger* logger)
    : cfg_(config),
      storage_(storage),
      random_(random),
      logger_(logger),
      log_(storage, storage->initial_state().hard_state.commit, config.applied) {
  RQ_ASSERT(cfg_.Validate().ok());
  InitialState state = storage_->initial_state();
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  prev_hard_ = state.hard_state;
  SnapshotMeta snap = storage_->snapshot();
  base_ = snap.membership;
  base_index_ = snap.index;
  membership_ = base_;
  // Replay config entries of the stable log after the snapshot, in pages.
  LogIndex next = std::max(storage_->first_index(), snap.index + 1);
  LogIndex last = storage_->last_index();
  while (next <= last) {
    auto page = storage_->entries(next, last + 1, 4 << 20);
    RQ_ASSERT_MSG(page.ok() && !page->empty(), "stored log unreadable on restart");
    OnEntriesAppended(*page);
    next = page->back().index + 1;
  }
  ResetRandomizedTimeout();
  Log(Logger::Level::kInfo, "start: last={} commit={} applied={} voters={}", log_.last_index().value(),
      log_.committed().value(), log_.applied().value(), membership_.voters.size());
}

Status Raft::Impl::Bootstrap(const std::vector<ConfigChange>& members) {
  if (log_.last_index() != LogIndex(0) || term_ != Term(0) || storage_->snapshot().index != LogIndex(0)) {
    return Status::InvalidArgument("raft: bootstrap needs empty storage");
  }
  if (members.empty()) return Status::InvalidArgument("raft: bootstrap needs at least one member");
  Membership check;
  std::vector<Entry> entries;
  for (const ConfigChange& c : members) {
    if (c.node.empty() || c.type == ConfigChangeType::kRemove || check.Contains(c.node)) {
      return Status::InvalidArgument("raft: bootstrap members must be distinct voters or learners");
    }
    check = ApplyConfigChange(check, c);
    entries.push_back(Entry{Term(1), LogIndex(entries.size() + 1), EntryType::kConfigChange, EncodeConfigChange(c)});
  }
  if (check.voters.empty()) return Status::InvalidArgument("raft: bootstrap needs a voter");
  BecomeFollower(Term(1), NodeId());
  AppendToLog(entries);
  log_.CommitTo(entries.back().index);
  Log(Logger::Level::kInfo, "bootstrapped with {} voters, {} learners", check.voters.size(), check.learners.size());
  return Status::OK();
}

// ---------------------------------------------------------------------------
// Roles.

void Raft::Impl::ResetRandomizedTimeout() {
  randomized_timeout_ = cfg_.election_ticks + static_cast<uint32_t>(random_->Uniform(cfg_.election_ticks));
}

void Raft::Impl::Reset(Term term) {
  if (term != term_) {
    RQ_ASSERT_MSG(term > term_, "term must never decrease");
    term_ = term;
    vote_ = NodeId();
  }
  leader_ = NodeId();
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedTimeout();
  transferee_ = NodeId();
  votes_.clear();
  progress_.clear();
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
  reads_.clear();
  waiting_reads_.clear();
}

void Raft::Impl::BecomeFollower(Term term, const NodeId& leader) {
  Reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
  Log(Logger::Level::kInfo, "became follower, leader={}", leader.value());
}

void Raft::Impl::BecomePreCandidate() {
  RQ_ASSERT(role_ != Role::kLeader);
  // A pre-candidate keeps its term and vote (§9.6); only the tally is new.
  votes_.clear();
  leader_ = NodeId();
  election_elapsed_ = 0;
  ResetRandomizedTimeout();
  role_ = Role::kPreCandidate;
  Log(Logger::Level::kInfo, "became pre-candidate");
}

void Raft::Impl::BecomeCandidate() {
  RQ_ASSERT(role_ != Role::kLeader);
  Reset(term_ + 1);
  vote_ = cfg_.id;
  role_ = Role::kCandidate;
  Log(Logger::Level::kInfo, "became candidate");
}

void Raft::Impl::BecomeLeader() {
  RQ_ASSERT(role_ == Role::kCandidate);
  Reset(term_);
  role_ = Role::kLeader;
  leader_ = cfg_.id;
  SyncProgress(log_.last_index() + 1);
  Log(Logger::Level::kInfo, "became leader at last index {}", log_.last_index().value());
  // §6.4 / §3.6.2: commit an entry of this term to learn the commit index and
  // to make earlier-term entries committable.
  Entry noop{term_, log_.last_index() + 1, EntryType::kNoop, {}};
  AppendToLog({noop});
  for (auto& [peer, pr] : progress_) SendAppend(peer, true);
  MaybeCommit();
}

// ---------------------------------------------------------------------------
// Tick.

void Raft::Impl::Tick() {
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= cfg_.election_ticks) {
      election_elapsed_ = 0;
      if (cfg_.check_quorum) {
        if (!QuorumActive()) {
          Log(Logger::Level::kWarn, "stepping down: no quorum heard within an election timeout");
          BecomeFollower(term_, NodeId());
          return;
        }
        for (auto& [peer, pr] : progress_) pr.set_recent_active(false);
      }
      if (!transferee_.empty()) AbortTransfer("timed out");
    }
    if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      BroadcastHeartbeat(reads_.empty() ? 0 : reads_.back().context);
    }
    return;
  }
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_timeout_) {
    election_elapsed_ = 0;
    Campaign(false);
  }
}

// ---------------------------------------------------------------------------
// Elections (§3.4, §9.6).

void Raft::Impl::Campaign(bool transfer) {
  if (role_ == Role::kLeader) return;
  if (!Promotable()) {
    Log(Logger::Level::kDebug, "not campaigning: not a voter");
    return;
  }
  if (log_.pending_snapshot()) return;  // cannot tell our last term reliably
  bool pre = cfg_.pre_vote && !transfer;
  if (pre) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  StartElection(pre, transfer);
}

void Raft::Impl::StartElection(bool pre_vote, bool transfer) {
  votes_[cfg_.id] = true;
  int outcome = TallyVotes();
  if (outcome > 0) {
    if (pre_vote) {
      // A single voter wins its pre-vote at once; run the real election.
      BecomeCandidate();
      votes_[cfg_.id] = true;
      pre_vote = false;
      if (TallyVotes() > 0) {
        BecomeLeader();
        return;
      }
    } else {
      BecomeLeader();
      return;
    }
  }
  Term request_term = pre_vote ? term_ + 1 : term_;
  VoteRequest req{log_.last_index(), log_.last_term(), pre_vote, transfer};
  for (const NodeId& voter : membership_.voters) {
    if (voter == cfg_.id) continue;
    Send(voter, req, request_term);
  }
}

int Raft::Impl::TallyVotes() const {
  size_t granted = 0;
  size_t rejected = 0;
  for (const auto& [node, yes] : votes_) {
    if (!membership_.IsVoter(node)) continue;
    (yes ? granted : rejected)++;
  }
  size_t q = Quorum(membership_.voters.size());
  if (granted >= q) return 1;
  if (rejected >= q) return -1;
  return 0;
}

void Raft::Impl::HandleVoteRequest(const Message& m, const VoteRequest& req) {
  // §3.4: one vote per term (repeat it to the same candidate); a pre-vote for
  // a future term is not a vote. A known leader means no vote this term.
  bool can_vote = vote_ == m.from || (vote_.empty() && leader_.empty()) || (req.pre_vote && m.term > term_);
  // §3.6.1 election restriction.
  bool up_to_date = log_.IsUpToDate(req.last_log_index, req.last_log_term);
  if (can_vote && up_to_date && !log_.pending_snapshot()) {
    Log(Logger::Level::kInfo, "granting {}vote to {} for term {}", req.pre_vote ? "pre-" : "", m.from.value(),
        m.term.value());
    Send(m.from, VoteResponse{true, req.pre_vote}, m.term);
    if (!req.pre_vote) {
      vote_ = m.from;
      election_elapsed_ = 0;
    }
    return;
  }
  Log(Logger::Level::kInfo, "rejecting {}vote from {} for term {} (voted={} up_to_date={})",
      req.pre_vote ? "pre-" : "", m.from.value(), m.term.value(), vote_.value(), up_to_date);
  Send(m.from, VoteResponse{false, req.pre_vote}, term_);
}

void Raft::Impl::HandleVoteResponse(const Message& m, const VoteResponse& resp) {
  if (role_ == Role::kPreCandidate) {
    if (!resp.pre_vote) return;
    bool current = (resp.granted && m.term == term_ + 1) || (!resp.granted && m.term == term_);
    if (!current) return;
  } else {
    if (resp.pre_vote || m.term != term_) return;
  }
  votes_.emplace(m.from, resp.granted);
  int outcome = TallyVotes();
  if (outcome < 0) {
    Log(Logger::Level::kInfo, "lost the {}election", role_ == Role::kPreCandidate ? "pre-" : "");
    BecomeFollower(term_, NodeId());
  } else if (outcome > 0) {
    if (role_ == Role::kPreCandidate) {
      BecomeCandidate();
      StartElection(false, false);
    } else {
      BecomeLeader();
    }
  }
}

// ---------------------------------------------------------------------------
// Step.

void Raft::Impl::Step(const Message& m) {
  if (m.to != cfg_.id || m.from == cfg_.id || m.from.empty() || m.term == Term(0)) {
    Log(Logger::Level::kDebug, "dropping misaddressed message from {}", m.from.value());
    return;
  }
  const auto* vote_req = std::get_if<VoteRequest>(&m.body);
  const auto* vote_resp = std::get_if<VoteResponse>(&m.body);
  bool from_leader = std::holds_alternative<AppendRequest>(m.body) ||
                     std::holds_alternative<InstallSnapshotRequest>(m.body);

  if (m.term > term_) {
    if (vote_req != nullptr && !vote_req->transfer && InLease()) {
      // §4.2.3: a node that hears from a leader ignores (pre-)votes, so a
      // removed or partitioned server cannot disrupt the cluster.
      Log(Logger::Level::kInfo, "ignoring {}vote from {} at term {}: leader {} is alive",
          vote_req->pre_vote ? "pre-" : "", m.from.value(), m.term.value(), leader_.value());
      return;
    }
    bool keep_term = (vote_req != nullptr && vote_req->pre_vote) ||
                     (vote_resp != nullptr && vote_resp->pre_vote && vote_resp->granted);
    if (!keep_term) {
      Log(Logger::Level::kInfo, "saw term {} from {}", m.term.value(), m.from.value());
      BecomeFollower(m.term, from_leader ? m.from : NodeId());
    }
  } else if (m.term < term_) {
    if (from_leader && (cfg_.check_quorum || cfg_.pre_vote)) {
      // Tell a stale leader about the newer term, or it may never step down
      // while our pre-votes and stickiness keep rejecting it.
      RespondAppend(m.from, false, LogIndex(0), Term(0), 0);
    } else if (vote_req != nullptr && vote_req->pre_vote) {
      Send(m.from, VoteResponse{false, true}, term_);
    }
    return;
  }

  if (vote_req != nullptr) {
    HandleVoteRequest(m, *vote_req);
    return;
  }
  switch (role_) {
    case Role::kLeader: StepLeader(m); break;
    case Role::kPreCandidate:
    case Role::kCandidate: StepCandidate(m); break;
    case Role::kFollower: StepFollower(m); break;
  }
  CheckInvariants();
}

void Raft::Impl::StepLeader(const Message& m) {
  if (const auto* resp = std::get_if<AppendResponse>(&m.body)) {
    HandleAppendResponse(m, *resp);
    return;
  }
  if (std::holds_alternative<AppendRequest>(m.body) || std::holds_alternative<InstallSnapshotRequest>(m.body)) {
    RQ_ASSERT_MSG(m.term != term_, "two leaders in one term (election safety violated)");
  }
}

void Raft::Impl::StepCandidate(const Message& m) {
  if (const auto* req = std::get_if<AppendRequest>(&m.body)) {
    BecomeFollower(m.term, m.from);
    HandleAppend(m, *req);
  } else if (const auto* snap = std::get_if<InstallSnapshotRequest>(&m.body)) {
    BecomeFollower(m.term, m.from);
    HandleSnapshot(m, *snap);
  } else if (const auto* resp = std::get_if<VoteResponse>(&m.body)) {
    HandleVoteResponse(m, *resp);
  }
}

void Raft::Impl::StepFollower(const Message& m) {
  if (const auto* req = std::get_if<AppendRequest>(&m.body)) {
    election_elapsed_ = 0;
    leader_ = m.from;
    HandleAppend(m, *req);
  } else if (const auto* snap = std::get_if<InstallSnapshotRequest>(&m.body)) {
    election_elapsed_ = 0;
    leader_ = m.from;
    HandleSnapshot(m, *snap);
  } else if (std::holds_alternative<TimeoutNow>(m.body)) {
    Log(Logger::Level::kInfo, "TimeoutNow from {}: campaigning for leadership transfer", m.from.value());
    Campaign(true);
  }
}

// ---------------------------------------------------------------------------
// Replication, follower side (§3.5).

void Raft::Impl::RespondAppend(const NodeId& to, bool success, LogIndex match_or_hint, Term conflict_term,
                               uint64_t read_context) {
  Send(to, AppendResponse{success, match_or_hint, conflict_term, read_context});
}

void Raft::Impl::HandleAppend(const Message& m, const AppendRequest& req) {
  // Malformed requests (non-contiguous indexes, terms out of order) are dropped.
  Term prev_term = req.prev_log_term;
  for (size_t i = 0; i < req.entries.size(); ++i) {
    const Entry& e = req.entries[i];
    if (e.index != req.prev_log_index + (i + 1) || e.term > m.term || e.term < prev_term) {
      Log(Logger::Level::kWarn, "dropping malformed AppendRequest from {}", m.from.value());
      return;
    }
    prev_term = e.term;
  }
  LogIndex committed = log_.committed();
  LogIndex prev = req.prev_log_index;
  Term prev_log_term = req.prev_log_term;
  std::vector<Entry> entries;
  if (prev < committed) {
    // Entries up to our commit index match any leader's (§3.6.3); skip them.
    auto t = log_.term(committed);
    if (!t.ok() || req.entries.empty() || req.entries.back().index <= committed) {
      RespondAppend(m.from, true, committed, Term(0), req.read_context);
      return;
    }
    prev = committed;
    prev_log_term = *t;
    entries.assign(req.entries.begin() + static_cast<ptrdiff_t>(committed - req.prev_log_index), req.entries.end());
    // The leader's entry at `committed` must equal ours; if it does not, its
    // log disagrees with a committed entry, which Raft rules out.
    const Entry& at_commit = req.entries[committed - req.prev_log_index - 1];
    RQ_ASSERT_MSG(at_commit.term == *t, "leader's log conflicts with a committed entry");
  } else {
    entries = req.entries;
  }

  if (!log_.MatchTerm(prev, prev_log_term)) {
    LogIndex hint;
    Term conflict_term;
    if (prev > log_.last_index()) {
      hint = log_.last_index();
    } else if (log_.term(prev).ok()) {
      std::tie(hint, conflict_term) = log_.ConflictHint(prev);
    } else {
      hint = committed;
    }
    Log(Logger::Level::kDebug, "rejecting append at {} from {} (hint {} term {})", prev.value(), m.from.value(),
        hint.value(), conflict_term.value());
    RespondAppend(m.from, false, hint, conflict_term, req.read_context);
    return;
  }
  LogIndex new_last = prev + entries.size();
  if (auto conflict = log_.FindConflict(entries)) {
    RQ_ASSERT_MSG(*conflict > committed, "entry conflicts with a committed entry");
    std::vector<Entry> tail(entries.begin() + static_cast<ptrdiff_t>(*conflict - (prev + 1)), entries.end());
    AppendToLog(tail);
  }
  log_.CommitTo(std::min(req.commit, new_last));
  RespondAppend(m.from, true, new_last, Term(0), req.read_context);
}

void Raft::Impl::HandleSnapshot(const Message& m, const InstallSnapshotRequest& req) {
  const SnapshotMeta& meta = req.meta;
  if (meta.index <= log_.committed()) {
    RespondAppend(m.from, true, log_.committed(), Term(0), 0);
    return;
  }
  if (log_.MatchTerm(meta.index, meta.term)) {
    // We already hold the entries the snapshot covers: just commit them.
    log_.CommitTo(meta.index);
    RespondAppend(m.from, true, meta.index, Term(0), 0);
    return;
  }
  if (!ValidMembership(meta.membership) || meta.term == Term(0) || meta.term > m.term) {
    Log(Logger::Level::kWarn, "dropping malformed InstallSnapshotRequest from {}", m.from.value());
    return;
  }
  Log(Logger::Level::kInfo, "restoring snapshot at index {} term {}", meta.index.value(), meta.term.value());
  log_.Restore(meta);
  base_ = meta.membership;
  base_index_ = meta.index;
  history_.clear();
  membership_ = base_;
  RespondAppend(m.from, true, meta.index, Term(0), 0);
}

void Raft::Impl::AppendToLog(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  if (auto truncated = log_.Append(entries)) OnTruncated(*truncated);
  OnEntriesAppended(entries);
}

// ---------------------------------------------------------------------------
// Replication, leader side (§3.5, §3.6, etcd's flow control).

Result<LogIndex> Raft::Impl::Propose(std::string data) {
  if (role_ != Role::kLeader) return Status::NotLeader(leader_.value());
  if (!transferee_.empty()) return Status::Busy("raft: leadership transfer in progress");
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + data.size() > cfg_.max_uncommitted_bytes) {
    return Status::Busy("raft: too many uncommitted bytes");
  }
  return AppendLeaderEntry(EntryType::kNormal, std::move(data));
}

Result<LogIndex> Raft::Impl::ProposeConfigChange(const ConfigChange& change) {
  if (role_ != Role::kLeader) return Status::NotLeader(leader_.value());
  if (!transferee_.empty()) return Status::Busy("raft: leadership transfer in progress");
  if (LastConfigIndex() > log_.committed()) return Status::Busy("raft: a configuration change is in progress");
  if (!CommittedInCurrentTerm()) return Status::Busy("raft: leader has not committed an entry of its term yet");
  if (change.node.empty()) return Status::InvalidArgument("raft: config change without a node");
  switch (change.type) {
    case ConfigChangeType::kAddVoter:
      if (membership_.IsVoter(change.node)) return Status::InvalidArgument("raft: already a voter");
      break;
    case ConfigChangeType::kAddLearner:
      if (membership_.Contains(change.node)) return Status::InvalidArgument("raft: already a member");
      break;
    case ConfigChangeType::kRemove:
      if (!membership_.Contains(change.node)) return Status::InvalidArgument("raft: not a member");
      if (membership_.voters.size() == 1 && membership_.IsVoter(change.node)) {
        return Status::InvalidArgument("raft: cannot remove the last voter");
      }
      break;
  }
  return AppendLeaderEntry(EntryType::kConfigChange, EncodeConfigChange(change));
}

Result<LogIndex> Raft::Impl::AppendLeaderEntry(EntryType type, std::string data) {
  LogIndex index = log_.last_index() + 1;
  uint64_t bytes = data.size();
  AppendToLog({Entry{term_, index, type, std::move(data)}});
  uncommitted_.emplace_back(index, bytes);
  uncommitted_bytes_ += bytes;
  for (auto& [peer, pr] : progress_) SendAppend(peer, false);
  MaybeCommit();
  return index;
}

bool Raft::Impl::SendAppend(const NodeId& to, bool allow_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  LogIndex prev = pr.next() - 1;
  auto prev_term = log_.term(prev);
  Result<std::vector<Entry>> entries = std::vector<Entry>();
  if (pr.next() <= log_.last_index()) {
    entries = log_.Entries(pr.next(), log_.last_index() + 1, cfg_.max_append_bytes);
  }
  if (!prev_term.ok() || !entries.ok()) {
    SendSnapshot(to);
    return false;
  }
  if (entries->empty() && !allow_empty) return false;
  bool had_entries = !entries->empty();
  LogIndex last = had_entries ? entries->back().index : prev;
  Send(to, AppendRequest{prev, *prev_term, std::move(*entries), log_.committed(), 0});
  pr.SentEntries(last, had_entries);
  pr.set_sent_commit(std::min(log_.committed(), last));
  return had_entries;
}

void Raft::Impl::SendHeartbeat(const NodeId& to, uint64_t read_context) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return;
  // In replicate, prev = the last index sent: a follower that lost an append
  // rejects it and the leader falls back to probing (the driver need not
  // report every lost message). Otherwise prev = match, which is known to
  // agree. A compacted prev falls back to index 0, which always agrees.
  const Progress& pr = it->second;
  LogIndex prev = pr.state() == Progress::State::kReplicate ? pr.next() - 1 : pr.match();
  // Counted as told even when prev is compacted: recording 0 there made every
  // heartbeat response trigger another heartbeat, a storm without ticks.
  LogIndex told = std::min(log_.committed(), prev);
  auto t = log_.term(prev);
  if (!t.ok()) prev = LogIndex(0);
  Send(to, AppendRequest{prev, t.ok() ? *t : Term(0), {}, log_.committed(), read_context});
  it->second.set_sent_commit(told);
}

void Raft::Impl::SendSnapshot(const NodeId& to) {
  SnapshotMeta meta = storage_->snapshot();
  if (meta.index == LogIndex(0) || log_.pending_snapshot()) {
    Log(Logger::Level::kWarn, "cannot send a snapshot to {}: none stored", to.value());
    return;
  }
  Log(Logger::Level::kInfo, "sending snapshot at {} to {}", meta.index.value(), to.value());
  progress_.at(to).BecomeSnapshot(meta.index);
  Send(to, InstallSnapshotRequest{meta});
}

void Raft::Impl::SendTimeoutNow(const NodeId& to) {
  Log(Logger::Level::kInfo, "sending TimeoutNow to {}", to.value());
  Send(to, TimeoutNow{});
}

void Raft::Impl::BroadcastHeartbeat(uint64_t read_context) {
  for (auto& [peer, pr] : progress_) SendHeartbeat(peer, read_context);
}

void Raft::Impl::HandleAppendResponse(const Message& m, const AppendResponse& resp) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.set_recent_active(true);
  if (resp.read_context != 0) AckRead(m.from, resp.read_context);

  if (!resp.success) {
    if (pr.state() == Progress::State::kSnapshot) return;
    // §3.5 fast backtracking: skip the follower's whole conflicting term, or
    // jump to its last index when its log is short.
    LogIndex next = resp.match_or_hint + 1;
    if (resp.conflict_term != Term(0)) {
      LogIndex from = std::min(pr.next() - 1, log_.last_index());
      auto ours = log_.LastIndexOfTerm(resp.conflict_term, from);
      next = ours ? *ours + 1 : resp.match_or_hint;
    }
    if (pr.state() == Progress::State::kReplicate) pr.BecomeProbe();
    pr.DecreaseTo(next);
    SendAppend(m.from, true);
    return;
  }
  if (resp.match_or_hint > log_.last_index()) return;  // malformed
  if (pr.MaybeUpdate(resp.match_or_hint)) {
    if (pr.state() == Progress::State::kProbe) {
      pr.BecomeReplicate();
    } else if (pr.state() == Progress::State::kSnapshot && pr.match() >= pr.pending_snapshot()) {
      pr.BecomeReplicate();
    }
    if (MaybeCommit() && role_ != Role::kLeader) return;
    if (m.from == transferee_ && pr.match() == log_.last_index()) SendTimeoutNow(m.from);
  } else {
    pr.OnResponse();
  }
  // Fill the pipeline; bounded by the window.
  // A probe with nothing new still needs an empty append to find the match.
  bool sent = false;
  for (uint32_t i = 0; i <= cfg_.max_inflight_appends; ++i) {
    bool probe_empty = pr.state() == Progress::State::kProbe && pr.match() + 1 < pr.next();
    size_t before = msgs_.size();
    bool more = SendAppend(m.from, probe_empty);
    sent = sent || msgs_.size() > before;
    if (!more) break;
  }
  // A follower that just caught up may not know the commit index yet.
  if (!sent && pr.sent_commit() < std::min(log_.committed(), pr.match())) SendHeartbeat(m.from, 0);
}

LogIndex Raft::Impl::QuorumMatchIndex() const {
  std::vector<LogIndex> matches;
  for (const NodeId& v : membership_.voters) {
    if (v == cfg_.id) {
      // Our own entries count only once persisted (acknowledged via Advance).
      matches.push_back(log_.stable_last_index());
    } else {
      auto it = progress_.find(v);
      matches.push_back(it == progress_.end() ? LogIndex(0) : it->second.match());
    }
  }
  if (matches.empty()) return LogIndex(0);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[Quorum(matches.size()) - 1];
}

bool Raft::Impl::MaybeCommit() {
  if (role_ != Role::kLeader) return false;
  LogIndex index = QuorumMatchIndex();
  if (index <= log_.committed()) return false;
  // §3.6.2: only entries of the current term commit by counting replicas.
  auto t = log_.term(index);
  if (!t.ok() || *t != term_) return false;
  log_.CommitTo(index);
  OnCommitAdvanced();
  return true;
}

void Raft::Impl::OnCommitAdvanced() {
  LogIndex committed = log_.committed();
  while (!uncommitted_.empty() && uncommitted_.front().first <= committed) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  ReleaseWaitingReads();
  // Tell followers the new commit index; caught-up ones get a heartbeat (a
  // probing peer learns it when its probe is answered).
  for (auto& [peer, pr] : progress_) {
    if (!SendAppend(peer, false) && pr.state() == Progress::State::kReplicate) SendHeartbeat(peer, 0);
  }
  if (!membership_.IsVoter(cfg_.id) && LastConfigIndex() <= committed) {
    // §4.2.2: a leader removed from the configuration steps down once the
    // change is committed (after telling the others it is).
    Log(Logger::Level::kInfo, "stepping down: removed from the configuration");
    BecomeFollower(term_, NodeId());
  }
}

bool Raft::Impl::QuorumActive() const {
  size_t active = 0;
  for (const NodeId& v : membership_.voters) {
    if (v == cfg_.id) {
      ++active;
      continue;
    }
    auto it = progress_.find(v);
    if (it != progress_.end() && it->second.recent_active()) ++active;
  }
  return active >= Quorum(membership_.voters.size());
}

bool Raft::Impl::CommittedInCurrentTerm() const {
  auto t = log_.term(log_.committed());
  return t.ok() && *t == term_;
}

// ---------------------------------------------------------------------------
// Membership (§4.1).

void Raft::Impl::OnEntriesAppended(const std::vector<Entry>& entries) {
  bool changed = false;
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfigChange) continue;
    auto change = DecodeConfigChange(e.data);
    if (!change) {
      Log(Logger::Level::kError, "undecodable config change at index {}; ignored", e.index.value());
      continue;
    }
    membership_ = ApplyConfigChange(membership_, *change);
    history_.emplace_back(e.index, membership_);
    changed = true;
  }
  // A peer added now starts probing at the config entry itself, so the
  // first append tells it about the change.
  if (changed && role_ == Role::kLeader) SyncProgress(std::max(log_.last_index(), LogIndex(1)));
}

void Raft::Impl::OnTruncated(LogIndex from) {
  RQ_ASSERT(role_ != Role::kLeader);  // §3.5 Leader Append-Only
  while (!history_.empty() && history_.back().first >= from) history_.pop_back();
  membership_ = history_.empty() ? base_ : history_.back().second;
}

void Raft::Impl::SyncProgress(LogIndex next) {
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (membership_.Contains(it->first)) {
      ++it;
    } else {
      it = progress_.erase(it);
    }
  }
  auto add = [&](const NodeId& id) {
    if (id == cfg_.id || progress_.count(id) > 0) return;
    progress_.emplace(id, Progress(next, cfg_.max_inflight_appends));
  };
  for (const NodeId& v : membership_.voters) add(v);
  for (const NodeId& l : membership_.learners) add(l);
  if (!transferee_.empty() && !membership_.IsVoter(transferee_)) AbortTransfer("target left the voters");
}

std::optional<Membership> Raft::Impl::MembershipAt(LogIndex index) const {
  if (index < base_index_) return std::nullopt;
  const Membership* m = &base_;
  for (const auto& [at, membership] : history_) {
    if (at > index) break;
    m = &membership;
  }
  return *m;
}

void Raft::Impl::PruneHistory(LogIndex upto) {
  while (!history_.empty() && history_.front().first <= upto) {
    base_index_ = history_.front().first;
    base_ = std::move(history_.front().second);
    history_.pop_front();
  }
}

// ---------------------------------------------------------------------------
// ReadIndex (§6.4).

Status Raft::Impl::ReadIndex(uint64_t read_id) {
  if (role_ != Role::kLeader) return Status::NotLeader(leader_.value());
  if (PendingReadCount() >= cfg_.max_pending_reads) return Status::Busy("raft: too many pending reads");
  if (!CommittedInCurrentTerm()) {
    waiting_reads_.push_back(read_id);
    return Status::OK();
  }
  StartRead(read_id);
  return Status::OK();
}

void Raft::Impl::StartRead(uint64_t read_id) {
  LogIndex index = log_.committed();
  if (membership_.voters.size() == 1 && membership_.IsVoter(cfg_.id)) {
    read_states_.push_back(ReadState{read_id, index});
    return;
  }
  PendingRead read{read_id, index, ++read_context_seq_, {}};
  if (membership_.IsVoter(cfg_.id)) read.acks.insert(cfg_.id);
  reads_.push_back(std::move(read));
  BroadcastHeartbeat(read_context_seq_);
}

void Raft::Impl::AckRead(const NodeId& from, uint64_t context) {
  if (!membership_.IsVoter(from)) return;
  size_t q = Quorum(membership_.voters.size());
  // A heartbeat answered in this term confirms leadership as of its sending,
  // hence for every read registered before it.
  size_t confirmed = 0;
  for (size_t i = 0; i < reads_.size() && reads_[i].context <= context; ++i) {
    reads_[i].acks.insert(from);
    size_t votes = 0;
    for (const NodeId& n : reads_[i].acks) votes += membership_.IsVoter(n) ? 1 : 0;
    if (votes >= q) confirmed = i + 1;
  }
  for (size_t i = 0; i < confirmed; ++i) {
    read_states_.push_back(ReadState{reads_.front().read_id, reads_.front().index});
    reads_.pop_front();
  }
}

void Raft::Impl::ReleaseWaitingReads() {
  if (waiting_reads_.empty() || !CommittedInCurrentTerm()) return;
  std::vector<uint64_t> waiting;
  waiting.swap(waiting_reads_);
  for (uint64_t id : waiting) StartRead(id);
}

// ---------------------------------------------------------------------------
// Leadership transfer (§3.10).

Status Raft::Impl::TransferLeadership(const NodeId& target) {
  if (role_ != Role::kLeader) return Status::NotLeader(leader_.value());
  if (target == cfg_.id) return Status::OK();
  if (!membership_.IsVoter(target)) return Status::InvalidArgument("raft: transfer target is not a voter");
  if (transferee_ == target) return Status::OK();
  if (!transferee_.empty()) AbortTransfer("superseded");
  transferee_ = target;
  election_elapsed_ = 0;  // the transfer must finish within an election timeout
  Log(Logger::Level::kInfo, "transferring leadership to {}", target.value());
  Progress& pr = progress_.at(target);
  if (pr.match() == log_.last_index()) {
    SendTimeoutNow(target);
  } else {
    SendAppend(target, true);
  }
  return Status::OK();
}

void Raft::Impl::AbortTransfer(const char* why) {
  Log(Logger::Level::kInfo, "leadership transfer to {} aborted: {}", transferee_.value(), why);
  transferee_ = NodeId();
}

// ---------------------------------------------------------------------------
// Snapshots.

void Raft::Impl::ReportSnapshot(const NodeId& peer, bool success) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it == progress_.end() || it->second.state() != Progress::State::kSnapshot) return;
  Progress& pr = it->second;
  if (!success) {
    // Retry from scratch: the next probe finds the entry still compacted.
    pr.BecomeProbe();
    pr.DecreaseTo(pr.match() + 1);
  } else {
    pr.BecomeProbe();  // next = pending + 1; the peer's ack moves it on
  }
  Log(Logger::Level::kInfo, "snapshot to {} {}", peer.value(), success ? "done" : "failed");
}

void Raft::Impl::ReportUnreachable(const NodeId& peer) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it != progress_.end() && it->second.state() == Progress::State::kReplicate) it->second.BecomeProbe();
}

Result<SnapshotMeta> Raft::Impl::SnapshotMetaFor(LogIndex index) const {
  if (index > log_.applied()) return Status::NotFound("raft: snapshot index beyond applied");
  auto t = log_.term(index);
  if (!t.ok()) return Status::NotFound("raft: snapshot index compacted");
  auto m = MembershipAt(index);
  if (!m) return Status::NotFound("raft: membership at snapshot index no longer known");
  return SnapshotMeta{index, *t, *m};
}

Status Raft::Impl::Compact(LogIndex index, uint64_t trailing_entries) {
  if (index > log_.applied()) return Status::InvalidArgument("raft: compact beyond applied index");
  if (storage_->snapshot().index < index) {
    return Status::InvalidArgument("raft: store the snapshot before compacting");
  }
  PruneHistory(index);
  Log(Logger::Level::kInfo, "compacted at {} keeping {} entries; first index now {}", index.value(),
      trailing_entries, storage_->first_index().value());
  return Status::OK();
}

// ---------------------------------------------------------------------------
// Ready / Advance.

bool Raft::Impl::HasReady() const {
  if (ready_outstanding_) return false;
  if (SoftState{role_, leader_} != prev_soft_) return true;
  if (HardState{term_, vote_, log_.committed()} != prev_hard_) return true;
  return log_.HasUnstableToPersist() || log_.HasSnapshotToPersist() || !msgs_.empty() ||
         log_.HasCommittedToApply() || !read_states_.empty();
}

Ready Raft::Impl::GetReady() {
  RQ_ASSERT_MSG(!ready_outstanding_, "GetReady called twice without Advance");
  CheckInvariants();
  Ready rd;
  SoftState soft{role_, leader_};
  if (soft != prev_soft_) {
    rd.soft_state = soft;
    prev_soft_ = soft;
  }
  HardState hard{term_, vote_, log_.committed()};
  if (hard != prev_hard_) {
    rd.hard_state = hard;
    prev_hard_ = hard;
  }
  if (log_.HasSnapshotToPersist()) {
    rd.snapshot = log_.TakeSnapshotToPersist();
    rd.membership = rd.snapshot->membership;
  }
  rd.entries = log_.TakeUnstableToPersist();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.committed_entries = log_.TakeCommittedToApply(cfg_.max_committed_bytes_per_ready);
  for (const Entry& e : rd.committed_entries) {
    if (e.type == EntryType::kConfigChange) rd.membership = MembershipAt(e.index);
  }
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  ready_outstanding_ = true;
  return rd;
}

void Raft::Impl::Advance(const Ready& rd) {
  RQ_ASSERT_MSG(ready_outstanding_, "Advance without GetReady");
  ready_outstanding_ = false;
  if (rd.snapshot) log_.StableSnapshot(*rd.snapshot);
  if (!rd.entries.empty()) log_.StableTo(rd.entries.back().index, rd.entries.back().term);
  if (!rd.committed_entries.empty()) log_.AppliedTo(rd.committed_entries.back().index);
  // Our own persisted entries may complete a quorum.
  MaybeCommit();
  CheckInvariants();
}

std::vector<std::pair<NodeId, LogIndex>> Raft::Impl::progress() const {
  std::vector<std::pair<NodeId, LogIndex>> out;
  if (role_ != Role::kLeader) return out;
  out.emplace_back(cfg_.id, log_.stable_last_index());
  for (const auto& [peer, pr] : progress_) out.emplace_back(peer, pr.match());
  std::sort(out.begin(), out.end());
  return out;
}

void Raft::Impl::CheckInvariants() const {
  RQ_ASSERT_MSG(log_.committed() <= log_.last_index(), "commit beyond last index");
  RQ_ASSERT_MSG(log_.applied() <= log_.committed(), "applied beyond commit");
  RQ_ASSERT_MSG(log_.applying() <= log_.committed(), "applying beyond commit");
  RQ_ASSERT_MSG(prev_hard_.term <= term_, "term went backwards");
  RQ_ASSERT_MSG(role_ != Role::kLeader || leader_ == cfg_.id, "leader does not know itself");
  RQ_ASSERT_MSG(role_ != Role::kCandidate || vote_ == cfg_.id, "candidate did not vote for itself");
  RQ_ASSERT_MSG(role_ == Role::kLeader || progress_.empty(), "non-leader keeps progress");
  RQ_ASSERT_MSG(ValidMembership(membership_), "membership lists not sorted/disjoint");
}

// ---------------------------------------------------------------------------
// Raft: forwards to Impl.

Raft::Raft(const Config& config, LogStorage* storage, Random* random, Logger* logger)
    : impl_(std::make_unique<Impl>(config, storage, random, logger)) {}
Raft::~Raft() = default;

Status Raft::Bootstrap(const Membership& membership) {
  std::vector<ConfigChange> members;
  for (const NodeId& v : membership.voters) members.push_back({ConfigChangeType::kAddVoter, v, {}});
  for (const NodeId& l : membership.learners) members.push_back({ConfigChangeType::kAddLearner, l, {}});
  return impl_->Bootstrap(members);
}
Status Raft::Bootstrap(const std::vector<ConfigChange>& members) { return impl_->Bootstrap(members); }
void Raft::Tick() { impl_->Tick(); }
void Raft::Step(const Message& message) { impl_->Step(message); }
Result<LogIndex> Raft::Propose(std::string data) { return impl_->Propose(std::move(data)); }
Result<LogIndex> Raft::ProposeConfigChange(const ConfigChange& change) { return impl_->ProposeConfigChange(change); }
Status Raft::ReadIndex(uint64_t read_id) { return impl_->ReadIndex(read_id); }
Status Raft::TransferLeadership(const NodeId& target) { return impl_->TransferLeadership(target); }
void Raft::Campaign() { impl_->Campaign(false); }
void Raft::ReportSnapshot(const NodeId& peer, bool success) { impl_->ReportSnapshot(peer, success); }
void Raft::ReportUnreachable(const NodeId& peer) { impl_->ReportUnreachable(peer); }
Result<SnapshotMeta> Raft::SnapshotMetaFor(LogIndex index) const { return impl_->SnapshotMetaFor(index); }
Status Raft::Compact(LogIndex index, uint64_t trailing_entries) { return impl_->Compact(index, trailing_entries); }
bool Raft::HasReady() const { return impl_->HasReady(); }
Ready Raft::GetReady() { return impl_->GetReady(); }
void Raft::Advance(const Ready& ready) { impl_->Advance(ready); }
const NodeId& Raft::id() const { return impl_->id(); }
Role Raft::role() const { return impl_->role(); }
Term Raft::term() const { return impl_->term(); }
NodeId Raft::leader() const { return impl_->leader(); }
LogIndex Raft::commit_index() const { return impl_->commit_index(); }
LogIndex Raft::applied_index() const { return impl_->applied_index(); }
LogIndex Raft::last_index() const { return impl_->last_index(); }
const Membership& Raft::membership() const { return impl_->membership(); }
std::vector<std::pair<NodeId, LogIndex>> Raft::progress() const { return impl_->progress(); }

}  // namespace rq::raft
