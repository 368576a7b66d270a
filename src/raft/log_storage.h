// The core's read-only view of the stable log and the last snapshot (etcd's
// Storage). The core never writes it; the driver does, in Ready order:
//
//   Ready::snapshot set   -> ApplySnapshot(meta)  (a snapshot received from the leader)
//   Ready::entries        -> Append(entries)      (may overwrite a suffix)
//   Ready::hard_state     -> SetHardState(hs)
//   after Raft::Compact   -> CreateSnapshot(meta, compact_to): the driver's state
//                            machine captured everything up to meta.index; the
//                            driver stores the snapshot bytes, records the meta
//                            here and may drop entries up to compact_to
//                            (<= meta.index). Raft::SnapshotMetaFor(index) gives
//                            the meta (term and membership as of index).
//
// Membership is not stored separately: the core takes snapshot().membership as
// the base and replays the kConfigChange entries of the stable log on top.
//
// Implementations: MemoryLogStorage (tests, simulator, and the model of what
// the store's WAL-backed adapter must do).
//
// Thread-safety: called only from the raft loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "raft/types.h"

namespace rq::raft {

struct InitialState {
  HardState hard_state;
  // Informational: membership as of the snapshot (the core recomputes the
  // current membership from snapshot() and the log; see above).
  Membership membership;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual InitialState initial_state() const = 0;
  // Entries [low, high), at most max_bytes of data (but always at least one).
  // NotFound when low < first_index() (compacted); InvalidArgument when
  // high > last_index() + 1 or low > high.
  virtual Result<std::vector<Entry>> entries(LogIndex low, LogIndex high, uint64_t max_bytes) const = 0;
  // Term of the entry at index; snapshot.term for index == snapshot.index.
  // NotFound when compacted or beyond last_index().
  virtual Result<Term> term(LogIndex index) const = 0;
  // Index of the first entry still available (snapshot.index + 1 when the log
  // holds nothing older).
  virtual LogIndex first_index() const = 0;
  // Last entry's index, or snapshot.index when the log is empty.
  virtual LogIndex last_index() const = 0;
  virtual SnapshotMeta snapshot() const = 0;
};

// A LogStorage held in memory: for tests, the simulator, and as the model of
// what the WAL adapter must do. Thread-safety: none.
class MemoryLogStorage : public LogStorage {
 public:
  InitialState initial_state() const override;
  Result<std::vector<Entry>> entries(LogIndex low, LogIndex high, uint64_t max_bytes) const override;
  Result<Term> term(LogIndex index) const override;
  LogIndex first_index() const override;
  LogIndex last_index() const override;
  SnapshotMeta snapshot() const override;

  // Driver-side writes.
  void SetHardState(const HardState& hard_state);
  // Appends, truncating any existing suffix from entries.front().index.
  // REQUIRES: entries are contiguous and entries.front().index is in
  // [first_index(), last_index() + 1].
  void Append(const std::vector<Entry>& entries);
  // Replaces everything with a received snapshot (the log restarts after it,
  // unless the log already holds meta.index with meta.term, in which case the
  // entries after it are kept).
  void ApplySnapshot(const SnapshotMeta& meta);
  // Records a locally taken snapshot and drops entries up to `compact_to`.
  // REQUIRES: compact_to <= meta.index <= last_index().
  void CreateSnapshot(const SnapshotMeta& meta, LogIndex compact_to);
  // Drops entries up to compact_to (<= snapshot().index) without a new snapshot.
  void Compact(LogIndex compact_to);
  // Sets the base membership (that of the snapshot, or of a cluster
  // bootstrapped without config entries).
  void SetMembership(const Membership& membership);

 private:
  HardState hard_state_;
  SnapshotMeta snapshot_;
  LogIndex first_{1};  // first_index(); == snapshot_.index + 1 when nothing older is kept
  std::vector<Entry> entries_;  // entries_[i].index == first_ + i
};

}  // namespace rq::raft
