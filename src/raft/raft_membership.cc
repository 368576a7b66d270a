// Membership over the log (§4.1): a config entry takes effect once appended,
// so membership is tracked per index to survive truncation and compaction.
// Also config-change proposals and the snapshot metadata built from it.
#include "raft/raft_impl.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace rq::raft {

// ---------------------------------------------------------------------------
// Membership (§4.1).

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
// Snapshots.

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

}  // namespace rq::raft
