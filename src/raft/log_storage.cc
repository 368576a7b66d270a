// MemoryLogStorage: the reference LogStorage.
#include "raft/log_storage.h"

#include <algorithm>

namespace rq::raft {

InitialState MemoryLogStorage::initial_state() const { return {hard_state_, snapshot_.membership}; }

LogIndex MemoryLogStorage::first_index() const { return first_; }

LogIndex MemoryLogStorage::last_index() const {
  return entries_.empty() ? first_ - 1 : entries_.back().index;
}

SnapshotMeta MemoryLogStorage::snapshot() const { return snapshot_; }

Result<Term> MemoryLogStorage::term(LogIndex index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < first_) return Status::NotFound("compacted");
  if (index > last_index()) return Status::NotFound("beyond last index");
  return entries_[index - first_].term;
}

Result<std::vector<Entry>> MemoryLogStorage::entries(LogIndex low, LogIndex high, uint64_t max_bytes) const {
  if (low < first_) return Status::NotFound("compacted");
  if (low > high || high > last_index() + 1) return Status::InvalidArgument("entries range out of bounds");
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (LogIndex i = low; i < high; ++i) {
    const Entry& e = entries_[i - first_];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

void MemoryLogStorage::SetHardState(const HardState& hard_state) { hard_state_ = hard_state; }

void MemoryLogStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  LogIndex start = entries.front().index;
  RQ_ASSERT(start >= first_ && start <= last_index() + 1);
  entries_.resize(start - first_);
  for (const Entry& e : entries) {
    RQ_ASSERT(e.index == last_index() + 1);
    entries_.push_back(e);
  }
}

void MemoryLogStorage::ApplySnapshot(const SnapshotMeta& meta) {
  bool keep_tail = false;
  if (meta.index >= first_ && meta.index <= last_index()) {
    keep_tail = entries_[meta.index - first_].term == meta.term;
  }
  if (keep_tail) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(meta.index - first_ + 1));
  } else {
    entries_.clear();
  }
  snapshot_ = meta;
  first_ = meta.index + 1;
}

void MemoryLogStorage::CreateSnapshot(const SnapshotMeta& meta, LogIndex compact_to) {
  RQ_ASSERT(compact_to <= meta.index);
  RQ_ASSERT(meta.index <= last_index());
  RQ_ASSERT(meta.index >= snapshot_.index);
  snapshot_ = meta;
  Compact(compact_to);
}

void MemoryLogStorage::Compact(LogIndex compact_to) {
  RQ_ASSERT(compact_to <= snapshot_.index);
  if (compact_to < first_) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(compact_to - first_ + 1));
  first_ = compact_to + 1;
}

void MemoryLogStorage::SetMembership(const Membership& membership) { snapshot_.membership = membership; }

}  // namespace rq::raft
