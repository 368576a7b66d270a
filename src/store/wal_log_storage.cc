#include "store/wal_log_storage.h"

#include <algorithm>

namespace rq::store {
namespace {

raft::Entry ToEntry(wal::Record record) {
  raft::Entry entry;
  entry.index = record.index;
  entry.term = record.term;
  entry.type = static_cast<raft::EntryType>(record.type);
  entry.data = std::move(record.payload);
  return entry;
}

wal::Record ToRecord(const raft::Entry& entry) {
  wal::Record record;
  record.index = entry.index;
  record.term = entry.term;
  record.type = static_cast<uint8_t>(entry.type);
  record.payload = entry.data;
  return record;
}

}  // namespace

WalLogStorage::WalLogStorage(std::unique_ptr<wal::Wal> wal, const raft::SnapshotMeta& snapshot)
    : wal_(std::move(wal)), snapshot_(snapshot), saved_hard_state_(wal_->hard_state()) {}

Result<std::unique_ptr<WalLogStorage>> WalLogStorage::Open(env::FileSystem* fs, const std::string& dir,
                                                           const raft::SnapshotMeta& snapshot) {
  auto wal = wal::Wal::Open(fs, dir, wal::Options{.preallocation = wal::Preallocation::kBackground});
  if (!wal.ok()) return wal.status();
  std::unique_ptr<wal::Wal> log = std::move(wal).value();
  // The log may keep entries older than the snapshot (trailing logs), but it
  // must not start after it: the entries in between would be lost.
  bool has_records = log->last_index() >= log->first_index() && log->last_index() > LogIndex(0);
  if (has_records && log->first_index() > snapshot.index + 1) {
    return Status::Corruption("raft log starts at " + std::to_string(log->first_index().value()) +
                              " but the snapshot ends at " + std::to_string(snapshot.index.value()));
  }
  if (log->last_index() < snapshot.index) {
    // Everything in the log is covered by the snapshot: restart the log after it.
    RQ_RETURN_IF_ERROR(log->Reset(snapshot.index, snapshot.term));
  }
  return std::unique_ptr<WalLogStorage>(new WalLogStorage(std::move(log), snapshot));
}

raft::InitialState WalLogStorage::initial_state() const {
  raft::InitialState state;
  if (saved_hard_state_) {
    state.hard_state.term = saved_hard_state_->term;
    state.hard_state.vote = NodeId(saved_hard_state_->vote);
    state.hard_state.commit = std::max(saved_hard_state_->commit, snapshot_.index);
    state.hard_state.commit = std::min(state.hard_state.commit, last_index());
  } else {
    state.hard_state.commit = snapshot_.index;
  }
  state.membership = snapshot_.membership;
  return state;
}

LogIndex WalLogStorage::first_index() const {
  LogIndex wal_first = wal_->first_index();
  if (wal_first == LogIndex(0)) return snapshot_.index + 1;
  return std::min(wal_first, snapshot_.index + 1);
}

LogIndex WalLogStorage::last_index() const { return std::max(wal_->last_index(), snapshot_.index); }

Result<Term> WalLogStorage::term(LogIndex index) const {
  if (index == snapshot_.index) return snapshot_.term;
  if (index < first_index() || index > last_index()) return Status::NotFound("term: index not in log");
  return wal_->term_at(index);
}

Result<std::vector<raft::Entry>> WalLogStorage::entries(LogIndex low, LogIndex high,
                                                        uint64_t max_bytes) const {
  if (low < first_index()) return Status::NotFound("entries: compacted");
  if (high > last_index() + 1 || low > high) return Status::InvalidArgument("entries: out of range");
  if (low == high) return std::vector<raft::Entry>{};
  auto records = wal_->Read(low, high, max_bytes);
  if (!records.ok()) return records.status();
  std::vector<raft::Entry> out;
  out.reserve(records->size());
  for (wal::Record& record : *records) out.push_back(ToEntry(std::move(record)));
  return out;
}

Status WalLogStorage::Persist(const raft::Ready& ready) {
  if (ready.snapshot) {
    // A snapshot received from the leader replaces the log. (The state
    // machine's bytes are installed by the store before this.)
    RQ_RETURN_IF_ERROR(wal_->Reset(ready.snapshot->index, ready.snapshot->term));
    snapshot_ = *ready.snapshot;
  }
  if (ready.hard_state) {
    // Term and vote must be durable before any message that depends on them
    // leaves, and before entries of the new term (a restart must never find
    // entries newer than its term). The commit index alone need not be (Raft re-learns it), so a
    // commit-only change does not cost an extra fsync per Ready.
    wal::HardState next{ready.hard_state->term, ready.hard_state->vote.value(), ready.hard_state->commit};
    bool vote_changed = !saved_hard_state_ || saved_hard_state_->term != next.term ||
                        saved_hard_state_->vote != next.vote;
    if (vote_changed) {
      RQ_RETURN_IF_ERROR(wal_->SaveHardState(next));
      saved_hard_state_ = next;
    }
  }
  if (!ready.entries.empty()) {
    std::vector<wal::Record> records;
    records.reserve(ready.entries.size());
    for (const raft::Entry& entry : ready.entries) records.push_back(ToRecord(entry));
    RQ_RETURN_IF_ERROR(wal_->Append(records));
    RQ_RETURN_IF_ERROR(wal_->Sync());
  }
  return Status::OK();
}

Status WalLogStorage::ResetTo(const raft::SnapshotMeta& meta) {
  RQ_RETURN_IF_ERROR(wal_->Reset(meta.index, meta.term));
  snapshot_ = meta;
  return Status::OK();
}

Status WalLogStorage::CompactTo(raft::Raft& raft, const raft::SnapshotMeta& meta, uint64_t trailing_entries) {
  // A snapshot received from the leader meanwhile is newer than this local
  // one: keep it (the log was reset to it).
  if (meta.index <= snapshot_.index) return Status::OK();
  LogIndex compact_to = meta.index.value() > trailing_entries ? meta.index - trailing_entries : LogIndex(0);
  snapshot_ = meta;
  if (compact_to > LogIndex(0) && compact_to >= wal_->first_index() && compact_to <= wal_->last_index()) {
    RQ_RETURN_IF_ERROR(wal_->CompactPrefix(compact_to));
  }
  return raft.Compact(meta.index, trailing_entries);
}

}  // namespace rq::store
