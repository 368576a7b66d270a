// Elections (§3.4, §9.6) and leadership transfer (§3.10): campaigning, with
// or without a pre-vote, granting and tallying votes, handing leadership over.
#include "raft/raft_impl.h"

namespace rq::raft {

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
  size_t q = internal::Quorum(membership_.voters.size());
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

}  // namespace rq::raft
