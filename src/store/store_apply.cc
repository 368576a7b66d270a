// Store's apply loop: the one thread that writes SQLite, running committed
// entries and the tasks queued for it (snapshots, installs, boot), and the
// waiters on the applied index.
#include "store/store.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "base/logging.h"
#include "base/random.h"
#include "command/codec.h"
#include "store/store_internal.h"
#include "store/store_metrics.h"

namespace rq::store {

using internal::SteadyClock;
using internal::StopNode;

namespace {

bool IsSqliteImage(std::string_view data) {
  static constexpr std::string_view kMagic("SQLite format 3\0", 16);
  return data.substr(0, kMagic.size()) == kMagic;
}

// The seed of random()/randomblob() while an entry runs (db::Database::
// SeedRandom): a function of the entry alone, so every replica, and a
// restart replaying the log, draws the same values for it; neighbouring
// entries get unrelated sequences.
uint64_t RandomSeedOf(const raft::Entry& entry) {
  return Random(Random(entry.index.value()).Next() ^ entry.term.value()).Next();
}

}  // namespace

void Store::Enqueue(std::vector<raft::Entry> entries) {
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(std::move(entries));
  }
  apply_wake_.notify_one();
}

void Store::ApplyLoop() {
  auto next_snapshot_check = SteadyClock::now() + options_.snapshot_interval;
  for (;;) {
    std::deque<ApplyItem> items;
    {
      std::unique_lock lock(apply_mutex_);
      const auto idle_until = std::min(next_snapshot_check, SteadyClock::now() + std::chrono::seconds(1));
      for (;;) {
        // A read waiting for an index gives up on time (ExpireStaleReads).
        auto wake_at = idle_until;
        if (!stale_deadlines_.empty()) wake_at = std::min(wake_at, stale_deadlines_.begin()->first);
        for (const auto& [index, read] : sync_reads_) wake_at = std::min(wake_at, read.deadline);
        if (promotion_wanted_.load()) wake_at = std::min(wake_at, last_promotion_check_ + kPromotionCheckInterval);
        if (apply_stopping_ || !apply_queue_.empty() || SteadyClock::now() >= wake_at) break;
        apply_wake_.wait_until(lock, wake_at);
      }
      if (db_->abandoned() || (apply_stopping_ && apply_queue_.empty())) break;
      items.swap(apply_queue_);
    }
    for (ApplyItem& item : items) {
      if (db_->abandoned()) break;
      if (auto* entries = std::get_if<std::vector<raft::Entry>>(&item)) {
        for (const raft::Entry& entry : *entries) {
          if (!ApplyEntry(entry)) break;
        }
        RunApplyWaiters();
      } else if (auto* task = std::get_if<SnapshotTask>(&item)) {
        MaybeSnapshot(true, task->trailing_entries, std::move(task->done));
      } else if (auto* install = std::get_if<InstallTask>(&item)) {
        Result<SnapshotRecord> record = ReadSnapshotRecord(fs_, paths_.InstallIntent(install->meta));
        // The transport delivers the snapshot message only after the sink
        // recorded it; anything else is a bug that would make us diverge.
        RQ_ASSERT_MSG(record.ok(), record.status().ToString().c_str());
        RQ_ASSERT(record->meta.index == install->meta.index);
        Status installed = InstallReceived(*record);
        RQ_ASSERT_MSG(installed.ok(), installed.ToString().c_str());
      } else if (auto* boot = std::get_if<BootTask>(&item)) {
        Status loaded = db_->LoadImage(boot->path);
        if (loaded.ok()) loaded = TakeSnapshot(0);
        if (loaded.ok()) StoreCounters().num_boots.Add();
        boot->done(loaded);
      }
    }
    // No snapshot may checkpoint what an abandoned write left in the WAL.
    if (db_->abandoned()) break;
    auto now = SteadyClock::now();
    ExpirePending(now);
    ExpireStaleReads(now);
    bool interval_due = now >= next_snapshot_check;
    if (interval_due) next_snapshot_check = now + options_.snapshot_interval;
    MaybeSnapshot(false, trailing_entries(), nullptr);
    RunDueMaintenance();
    // Due from the last check, so a join that wants a promotion is looked
    // at within kPromotionCheckInterval, not after the idle second.
    const auto promotion_interval = promotion_wanted_.load() ? kPromotionCheckInterval : std::chrono::seconds(1);
    if (now >= last_promotion_check_ + promotion_interval) {
      last_promotion_check_ = now;
      PromoteCaughtUpLearners();
    }
    if (interval_due && options_.snapshot_wal_bytes > 0) {
      Result<uint64_t> wal_bytes = db_->WalSizeBytes();
      if (wal_bytes.ok() && *wal_bytes >= options_.snapshot_wal_bytes) {
        StoreCounters().num_wal_snapshots.Add();  // attempts, as rqlite counts them
        Status taken = TakeSnapshot(trailing_entries());
        if (!taken.ok()) {
          StoreCounters().num_wal_snapshots_failed.Add();
          RQ_LOG_ERROR("store: snapshot failed: {}", taken.ToString());
        }
      }
    }
  }
}

bool Store::ApplyEntry(const raft::Entry& entry) {
  {
    std::lock_guard lock(apply_mutex_);
    if (entry.index <= applied_) return true;  // already in the snapshot
    RQ_ASSERT(entry.index == applied_ + 1);
  }
  std::optional<command::Response> response;
  bool changed_database = false;
  if (entry.type == raft::EntryType::kNormal) response = ApplyCommand(entry, &changed_database);
  if (db_->abandoned()) return false;
  {
    std::lock_guard lock(apply_mutex_);
    applied_ = entry.index;
    applied_term_ = entry.term;
    applied_at_ = std::chrono::system_clock::now();
    if (changed_database) db_applied_ = entry.index;
  }
  Series().applied_entries.Add();
  CompletePending(entry, std::move(response));
  if (entry.type == raft::EntryType::kConfigChange && on_removed_) {
    std::optional<raft::ConfigChange> change = raft::DecodeConfigChange(entry.data);
    // Replaying an old removal of a node that was added again is not one.
    bool removed = change && change->type == raft::ConfigChangeType::kRemove && change->node == options_.node_id &&
                   raft_node_ && !raft_node_->state().membership.Contains(options_.node_id);
    if (removed) on_removed_();
  }
  return true;
}

// The snapshot checkpoint stops the node too, so this one is shared (store_internal.h).
[[noreturn]] void internal::StopNode(const std::string& why) {
  RQ_LOG_ERROR("store: {}; stopping", why);
  spdlog::default_logger()->flush();  // the line above, before _Exit skips it
  std::fprintf(stderr, "fatal: %s\n", why.c_str());
  std::fflush(stderr);
  std::_Exit(EXIT_FAILURE);
}

// An entry that could not be applied because of this node's environment
// (a full disk, an I/O error...) must not be recorded with an error result:
// the other replicas applied it, so this one would diverge from them for
// good (and its snapshots would carry the difference). Stop instead, as when
// the log cannot be written: a restart discards the SQLite WAL and applies
// the log again from the last snapshot, once the operator has made room.
[[noreturn]] static void StopApplying(const raft::Entry& entry, const std::string& why) {
  StopNode("applying log entry " + std::to_string(entry.index.value()) +
           " failed because of this node's environment: " + why +
           " (so that this replica does not diverge; free the disk or fix the file, then restart: the entry is "
           "applied again)");
}

std::optional<command::Response> Store::ApplyCommand(const raft::Entry& entry, bool* changed_database) {
  Result<command::Command> command = command::DecodeCommand(entry.data);
  // The entry passed the WAL's CRC; undecodable means a bug or a newer
  // format. Applying anything else would make this replica diverge.
  RQ_ASSERT_MSG(command.ok(), command.status().ToString().c_str());
  *changed_database = command->type != command::CommandType::kQuery && command->type != command::CommandType::kNoop &&
                      command->type != command::CommandType::kCdcHighWaterMark;
  command::Response response;
  if (command->type != command::CommandType::kQuery) {
    // SQL that SQLite itself evaluates in the write (DEFAULT (random()),
    // trigger bodies, views) draws from the entry's seed, not from SQLite's
    // per-process PRNG; the leader's rewriting cannot reach it.
    db_->SeedRandom(RandomSeedOf(entry));
    // db_timeout would interrupt a statement by this replica's clock: a write
    // the leader finished and a slower follower interrupted (or the reverse)
    // would leave them different, an acknowledged write missing from a
    // replica. Writes are bounded by the entry's VM-step budget instead,
    // which every replica spends alike (entries written before it existed
    // carry none and run to their end, as they did then).
    command->request.db_timeout_ns = 0;
  }
  switch (command->type) {
    case command::CommandType::kExecute:
      response = db_->Execute(command->request);
      break;
    case command::CommandType::kQuery:
      response = db_->Query(command->request);
      break;
    case command::CommandType::kExecuteQuery:
      response = db_->ExecuteOrQuery(command->request);
      break;
    case command::CommandType::kLoad: {
      if (!IsSqliteImage(command->payload)) {
        response = db_->LoadDump(command->payload);
        break;
      }
      std::string path = env::JoinPath(paths_.tmp_dir, "apply-load-" + std::to_string(entry.index.value()));
      Status status = fs_->WriteFileAtomic(path, command->payload);
      if (status.ok()) status = db_->LoadImage(path);
      (void)fs_->DeleteFile(path);
      if (status.IsIOError()) StopApplying(entry, status.ToString());
      if (!status.ok()) response.error = status.message();
      break;
    }
    case command::CommandType::kNoop:
      return std::nullopt;
    case command::CommandType::kCdcHighWaterMark:
      if (options_.change_listener != nullptr) {
        options_.change_listener->OnHighWaterMark(LogIndex(command->high_water_mark));
      }
      return command::Response{};
  }
  if (!response.environmental_error.empty() && command->type != command::CommandType::kQuery) {
    StopApplying(entry, response.environmental_error);
  }
  if (options_.change_listener != nullptr && *changed_database) {
    std::vector<command::RowChange> rows = db_->TakeChanges();
    if (!rows.empty()) {
      // Change data capture never stops the database: rows it cannot keep
      // are logged and counted by it (cdc.service fifo_enqueue_failed).
      Status kept = options_.change_listener->OnChanges(entry.index, std::move(rows));
      if (!kept.ok()) {
        RQ_LOG_ERROR("store: change data capture lost the rows of entry {}: {}", entry.index.value(), kept.ToString());
      }
    }
  }
  return response;
}

void Store::RunApplyWaiters() {
  std::vector<std::function<void()>> ready;
  std::vector<SyncRead> synced;
  {
    std::lock_guard lock(apply_mutex_);
    auto end = apply_waiters_.upper_bound(applied_);
    for (auto it = apply_waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    apply_waiters_.erase(apply_waiters_.begin(), end);
    auto synced_end = sync_reads_.upper_bound(applied_);
    for (auto it = sync_reads_.begin(); it != synced_end; ++it) synced.push_back(std::move(it->second));
    sync_reads_.erase(sync_reads_.begin(), synced_end);
  }
  applied_changed_.notify_all();
  for (auto& fn : ready) fn();
  AnswerSyncReads(std::move(synced));
}

bool Store::WaitForApplied(LogIndex index, SteadyClock::time_point deadline) {
  std::unique_lock lock(apply_mutex_);
  return applied_changed_.wait_until(lock, deadline, [&] { return applied_ >= index; });
}

void Store::RunDueMaintenance() {
  if (!maintenance_) return;
  for (MaintenanceTask task : maintenance_->Due(std::chrono::system_clock::now())) {
    const bool vacuum = task == MaintenanceTask::kVacuum;
    StoreMetrics& counters = StoreCounters();
    const auto start = SteadyClock::now();
    Status done = db_->Maintain(MaintenanceSql(task));
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
    if (done.ok()) {
      (vacuum ? counters.num_auto_vacuums : counters.num_auto_optimizes).Add();
      (vacuum ? counters.auto_vacuum_duration : counters.auto_optimize_duration).Set(elapsed.count());
      RQ_LOG_INFO("store: automatic {} took {} ms", MaintenanceSql(task), elapsed.count());
    } else {
      (vacuum ? counters.num_auto_vacuums_failed : counters.num_auto_optimizes_failed).Add();
      RQ_LOG_WARN("store: automatic {} failed: {}", MaintenanceSql(task), done.ToString());
    }
    // A failed run waits for the next interval too: a VACUUM that cannot
    // succeed (a full disk) must not be retried on every pass.
    if (Status saved = maintenance_->Record(task, std::chrono::system_clock::now()); !saved.ok()) {
      RQ_LOG_WARN("store: cannot record the {} time: {}", MaintenanceSql(task), saved.ToString());
    }
  }
}

}  // namespace rq::store
