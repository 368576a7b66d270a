// WalLogStorage: the Raft core's LogStorage backed by the durable WAL
// (wal::Wal) plus the last snapshot's metadata; also the RaftNode's
// LogPersister, which writes each Ready's hard state and entries with one
// fsync. Raft entries map 1:1 to WAL records (type = raft::EntryType).
//
// Thread-safety: none; only the Raft loop thread uses it after Open.
#pragma once

#include <memory>
#include <string>

#include "raft/log_storage.h"
#include "raft/raft.h"
#include "store/raft_node.h"
#include "wal/wal.h"

namespace rq::store {

class WalLogStorage final : public raft::LogStorage, public LogPersister {
 public:
  // `snapshot` is the last snapshot the state machine holds (index 0 if none).
  static Result<std::unique_ptr<WalLogStorage>> Open(env::FileSystem* fs, const std::string& dir,
                                                     const raft::SnapshotMeta& snapshot);

  // raft::LogStorage
  raft::InitialState initial_state() const override;
  Result<std::vector<raft::Entry>> entries(LogIndex low, LogIndex high, uint64_t max_bytes) const override;
  Result<Term> term(LogIndex index) const override;
  LogIndex first_index() const override;
  LogIndex last_index() const override;
  raft::SnapshotMeta snapshot() const override { return snapshot_; }

  // LogPersister
  Status Persist(const raft::Ready& ready) override;
  raft::LogStorage* storage() override { return this; }

  // After the state machine captured `meta.index` durably: record it, drop
  // log entries up to meta.index - trailing, and tell the core (Raft thread).
  Status CompactTo(raft::Raft& raft, const raft::SnapshotMeta& meta, uint64_t trailing_entries);

  // Before the Raft loop starts: drops the whole log and restarts it after
  // `meta`, which the state machine holds durably (peers.json recovery).
  Status ResetTo(const raft::SnapshotMeta& meta);

  const wal::RecoveryReport& recovery_report() const { return wal_->recovery_report(); }

 private:
  WalLogStorage(std::unique_ptr<wal::Wal> wal, const raft::SnapshotMeta& snapshot);

  std::unique_ptr<wal::Wal> wal_;
  raft::SnapshotMeta snapshot_;
  std::optional<wal::HardState> saved_hard_state_;
};

}  // namespace rq::store
