// The Raft core: construction, roles, Tick, Step dispatch, Ready/Advance and the
// facade (handlers per concern: raft_*.cc). Structure follows etcd's raft.go: term
// rules run once at the top of Step, then a per-role handler; become*() reset
// per-term state. Paper references are to Ongaro's dissertation (2014).
#include "raft/raft.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft_impl.h"

namespace rq::raft {

Status Config::Validate() const {
  if (id.empty()) return Status::InvalidArgument("raft: node id is empty");
  if (heartbeat_ticks == 0) return Status::InvalidArgument("raft: heartbeat_ticks must be > 0");
  if (election_ticks <= heartbeat_ticks) {
    return Status::InvalidArgument("raft: election_ticks must exceed heartbeat_ticks");
  }
  if (lease_ticks != 0 && (lease_ticks <= heartbeat_ticks || lease_ticks > election_ticks)) {
    return Status::InvalidArgument("raft: lease_ticks must exceed heartbeat_ticks and be at most election_ticks");
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
  lease_elapsed_ = 0;
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
    ++lease_elapsed_;
    const uint32_t lease = cfg_.lease_ticks != 0 ? cfg_.lease_ticks : cfg_.election_ticks;
    if (cfg_.check_quorum && lease_elapsed_ >= lease) {
      lease_elapsed_ = 0;
      if (!QuorumActive()) {
        Log(Logger::Level::kWarn, "stepping down: no quorum heard within the leader lease");
        BecomeFollower(term_, NodeId());
        return;
      }
      for (auto& [peer, pr] : progress_) pr.set_recent_active(false);
    }
    if (election_elapsed_ >= cfg_.election_ticks) {
      election_elapsed_ = 0;
      if (!transferee_.empty()) AbortTransfer("timed out");
    }
    if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      // Carries the newest read's round: sent now, if it was waiting.
      if (!reads_.empty()) read_context_seq_ = std::max(read_context_seq_, reads_.back().context);
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
  RQ_ASSERT_MSG(internal::ValidMembership(membership_), "membership lists not sorted/disjoint");
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
Term Raft::last_term() const { return impl_->last_term(); }
const Membership& Raft::membership() const { return impl_->membership(); }
std::vector<std::pair<NodeId, LogIndex>> Raft::progress() const { return impl_->progress(); }

}  // namespace rq::raft
