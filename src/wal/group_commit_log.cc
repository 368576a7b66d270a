#include "wal/group_commit_log.h"

namespace rq::wal {

GroupCommitLog::GroupCommitLog(std::unique_ptr<Wal> wal) : wal_(std::move(wal)) { RQ_ASSERT(wal_ != nullptr); }

Result<LogIndex> GroupCommitLog::AppendAndWait(std::vector<Record> records) {
  RQ_ASSERT(!records.empty());
  std::unique_lock lock(mu_);
  if (!failure_.ok()) return failure_;
  LogIndex next = wal_->last_index() + 1;
  for (Record& record : records) {
    record.index = next;
    ++next;
  }
  Status s = wal_->Append(records);
  if (!s.ok()) {
    failure_ = s;
    synced_.notify_all();
    return s;
  }
  const LogIndex mine = wal_->last_index();
  // Bounded: each pass either finds the records durable, fails, runs one
  // sync that covers them, or waits for a running sync to finish.
  while (wal_->durable_index() < mine) {
    if (!failure_.ok()) return failure_;
    if (sync_running_) {
      synced_.wait(lock);
      continue;
    }
    RQ_RETURN_IF_ERROR(LeadSync(lock));
  }
  return mine;
}

Status GroupCommitLog::LeadSync(std::unique_lock<std::mutex>& lock) {
  sync_running_ = true;
  SyncPlan plan = wal_->PrepareSync();
  lock.unlock();
  Status s = Wal::ExecuteSync(wal_->fs(), wal_->dir(), plan);  // fs() and dir() never change
  lock.lock();
  wal_->CompleteSync(plan, s);
  ++sync_count_;
  sync_running_ = false;
  if (!s.ok()) failure_ = s;
  synced_.notify_all();
  return s;
}

LogIndex GroupCommitLog::durable_index() const {
  std::lock_guard lock(mu_);
  return wal_->durable_index();
}

LogIndex GroupCommitLog::last_index() const {
  std::lock_guard lock(mu_);
  return wal_->last_index();
}

uint64_t GroupCommitLog::sync_count() const {
  std::lock_guard lock(mu_);
  return sync_count_;
}

}  // namespace rq::wal
