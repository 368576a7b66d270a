// RaftLog: the core's view of the whole log = the stable part in LogStorage
// plus the unstable tail (entries and a received snapshot) that the driver has
// not yet persisted (etcd's raftLog + unstable). Tracks commit and apply
// positions. Internal to the core.
//
// Invariants:
//   applied <= committed <= last_index()
//   unstable entries are contiguous from offset_; everything at or after
//   offset_ shadows the storage (a truncated suffix may still sit there).
//
// Thread-safety: none (owned by the Raft core).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "raft/log_storage.h"
#include "raft/types.h"

namespace rq::raft {

class RaftLog {
 public:
  // Starts from storage's state: committed = max(commit, snapshot index).
  RaftLog(LogStorage* storage, LogIndex committed, LogIndex applied);

  LogIndex first_index() const;
  LogIndex last_index() const;
  Term last_term() const;
  // NotFound when compacted or beyond the last index; term(0) is zero.
  Result<Term> term(LogIndex index) const;
  bool MatchTerm(LogIndex index, Term term) const;
  // Entries [low, high) with at most max_bytes of data (at least one entry).
  Result<std::vector<Entry>> Entries(LogIndex low, LogIndex high, uint64_t max_bytes) const;

  // §5.4.1: is (last_term, last_index) at least as up to date as ours?
  bool IsUpToDate(LogIndex last_index, Term last_term) const;

  // Appends entries whose first index is in [committed + 1, last_index() + 1],
  // truncating any suffix it overwrites. Returns the truncation point (the
  // first overwritten index) or nullopt when nothing was truncated.
  std::optional<LogIndex> Append(const std::vector<Entry>& entries);
  // First index among `entries` whose term differs from the log (or is past
  // the end); nullopt when all already match.
  std::optional<LogIndex> FindConflict(const std::vector<Entry>& entries) const;
  // For a rejected append at `index`: the first index of the term at `index`
  // among uncommitted entries (fast backtracking hint), and that term.
  std::pair<LogIndex, Term> ConflictHint(LogIndex index) const;
  // Leader-side backtracking: the last index <= from whose entry has exactly
  // `term`, or nullopt when the log has no entry of that term there.
  std::optional<LogIndex> LastIndexOfTerm(Term term, LogIndex from) const;

  void CommitTo(LogIndex index);
  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex applying() const { return applying_; }

  // Replaces the log with a received snapshot (pending until persisted).
  void Restore(const SnapshotMeta& meta);
  const std::optional<SnapshotMeta>& pending_snapshot() const { return snapshot_; }

  // ---- Ready support ----
  bool HasUnstableToPersist() const;
  std::vector<Entry> TakeUnstableToPersist();  // marks them in progress
  bool HasSnapshotToPersist() const { return snapshot_ && !snapshot_in_progress_; }
  SnapshotMeta TakeSnapshotToPersist();
  bool HasCommittedToApply() const;
  std::vector<Entry> TakeCommittedToApply(uint64_t max_bytes);  // marks them applying
  // The driver persisted entries up to (index, term) / the snapshot.
  void StableTo(LogIndex index, Term term);
  void StableSnapshot(const SnapshotMeta& meta);
  void AppliedTo(LogIndex index);
  // Index of the last persisted entry (the leader's own match index).
  LogIndex stable_last_index() const;

 private:
  LogStorage* storage_;
  std::optional<SnapshotMeta> snapshot_;  // received, not yet persisted
  bool snapshot_in_progress_ = false;
  std::vector<Entry> unstable_;           // unstable_[i].index == offset_ + i
  LogIndex offset_;
  LogIndex in_progress_;                  // unstable entries <= this are handed to a Ready
  LogIndex committed_;
  LogIndex applying_;                     // committed entries <= this are handed to a Ready
  LogIndex applied_;
};

}  // namespace rq::raft
