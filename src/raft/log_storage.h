// The core's read-only view of the stable log and the last snapshot (etcd's
// Storage). The driver appends to it after persisting a Ready's entries; the
// core never writes. Implementations: an in-memory one (MemoryLogStorage,
// used by tests and the simulator) and the store's WAL-backed adapter.
//
// Thread-safety: called only from the raft loop thread.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "base/types.h"
#include "raft/types.h"

namespace rq::raft {

struct InitialState {
  HardState hard_state;
  Membership membership;  // as of the last config entry in the stable log or snapshot
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  virtual InitialState initial_state() const = 0;
  // Entries [low, high), at most max_bytes (but always at least one).
  // NotFound when low < first_index() (compacted).
  virtual Result<std::vector<Entry>> entries(LogIndex low, LogIndex high, uint64_t max_bytes) const = 0;
  // Term of the entry at index; snapshot.term for index == snapshot.index.
  virtual Result<Term> term(LogIndex index) const = 0;
  // Index of the first entry still available (snapshot.index + 1).
  virtual LogIndex first_index() const = 0;
  virtual LogIndex last_index() const = 0;
  virtual SnapshotMeta snapshot() const = 0;
};

// A LogStorage held in memory: for tests, the simulator, and as the model of
// what the WAL adapter must do.
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
  void Append(const std::vector<Entry>& entries);
  // Replaces everything with a received snapshot.
  void ApplySnapshot(const SnapshotMeta& meta);
  // Records a locally taken snapshot and drops entries up to `compact_to`.
  void CreateSnapshot(const SnapshotMeta& meta, LogIndex compact_to);
  void SetMembership(const Membership& membership);

 private:
  HardState hard_state_;
  Membership membership_;
  SnapshotMeta snapshot_;
  std::vector<Entry> entries_;  // entries_[i].index == snapshot_.index + 1 + i
};

}  // namespace rq::raft
