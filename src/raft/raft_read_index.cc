// ReadIndex (§6.4): a read is served at the commit index once a quorum has
// confirmed, by answering a heartbeat, that this node still leads.
//
// Reads share heartbeat rounds: one round is in flight at a time, and every
// read registered meanwhile waits for the next, sent when the one in flight
// is confirmed (or by the next tick's heartbeat, whichever is first). A
// round confirms only reads registered before it was sent, so each read's
// context names a round not yet sent when it arrived. Under load that is one
// round trip per batch of reads instead of one broadcast per read.
#include "raft/raft_impl.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace rq::raft {

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
  PendingRead read{read_id, index, read_context_seq_ + 1, {}};
  if (membership_.IsVoter(cfg_.id)) read.acks.insert(cfg_.id);
  const bool round_in_flight = !reads_.empty() && reads_.front().context <= read_context_seq_;
  reads_.push_back(std::move(read));
  if (!round_in_flight) SendReadRound();
}

void Raft::Impl::SendReadRound() {
  ++read_context_seq_;
  BroadcastHeartbeat(read_context_seq_);
}

void Raft::Impl::AckRead(const NodeId& from, uint64_t context) {
  if (!membership_.IsVoter(from)) return;
  size_t q = internal::Quorum(membership_.voters.size());
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
  // The round in flight is done; the reads that came meanwhile get theirs.
  if (confirmed > 0 && !reads_.empty() && reads_.front().context > read_context_seq_) SendReadRound();
}

void Raft::Impl::ReleaseWaitingReads() {
  if (waiting_reads_.empty() || !CommittedInCurrentTerm()) return;
  std::vector<uint64_t> waiting;
  waiting.swap(waiting_reads_);
  for (uint64_t id : waiting) StartRead(id);
}

}  // namespace rq::raft
