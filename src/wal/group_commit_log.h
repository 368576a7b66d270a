// wal::GroupCommitLog: a thread-safe front for a Wal where many threads
// append concurrently and one fdatasync covers everything appended
// meanwhile (group commit, leader/follower style).
//
// A caller appends under the lock, then waits until its records are durable.
// If no sync is running it becomes the sync leader: it plans the sync under
// the lock, runs the fdatasync without it (others keep appending), and wakes
// everyone. Waiters sleep on a condition variable; nobody spins.
//
// The log assigns indexes: records are numbered from last_index() + 1 in the
// order callers take the lock, so this front suits a single writer of new
// entries (the leader's proposals, a benchmark), not Raft truncation.
//
// Ownership: owns the Wal. Thread-safety: every method may be called from
// any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "wal/wal.h"

namespace rq::wal {

class GroupCommitLog {
 public:
  explicit GroupCommitLog(std::unique_ptr<Wal> wal);
  GroupCommitLog(const GroupCommitLog&) = delete;
  GroupCommitLog& operator=(const GroupCommitLog&) = delete;

  // Numbers records (overwriting their index), appends them and returns the
  // index of the last one once it is durable. After an I/O error every call
  // fails with it. REQUIRES: !records.empty().
  Result<LogIndex> AppendAndWait(std::vector<Record> records);

  LogIndex durable_index() const;
  LogIndex last_index() const;
  // fdatasyncs performed; with concurrency it stays below the append count.
  uint64_t sync_count() const;

 private:
  // REQUIRES: mu_ held via lock; returns with it held.
  Status LeadSync(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mu_;
  std::condition_variable synced_;
  std::unique_ptr<Wal> wal_;  // guarded by mu_, except the ExecuteSync step
  bool sync_running_ = false;
  uint64_t sync_count_ = 0;
  Status failure_;
};

}  // namespace rq::wal
