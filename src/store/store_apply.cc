// Store's apply loop: the one thread that writes SQLite, running committed
// entries and the tasks queued for it (snapshots, installs, boot), and the
// waiters on the applied index.
#include "store/store.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <utility>

#include "base/logging.h"
#include "base/random.h"
#include "command/codec.h"
#include "db/batch_check.h"
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

// An entry that could not be applied because of this node's environment
// (a full disk, an I/O error...) must not be recorded with an error result:
// the other replicas applied it, so this one would diverge from them for
// good (and its snapshots would carry the difference). Stop instead, as when
// the log cannot be written: a restart discards the SQLite WAL and applies
// the log again from the last snapshot, once the operator has made room.
[[noreturn]] void StopApplying(const raft::Entry& entry, const std::string& why) {
  StopNode("applying log entry " + std::to_string(entry.index.value()) +
           " failed because of this node's environment: " + why +
           " (so that this replica does not diverge; free the disk or fix the file, then restart: the entry is "
           "applied again)");
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
    for (size_t index = 0; index < items.size(); ++index) {
      ApplyItem& item = items[index];
      if (db_->abandoned()) break;
      if (auto* entries = std::get_if<std::vector<raft::Entry>>(&item)) {
        // Entries queued back to back are applied as one run, so that a
        // group sharing a transaction may span them.
        for (size_t next = index + 1; next < items.size(); ++next) {
          auto* more = std::get_if<std::vector<raft::Entry>>(&items[next]);
          if (more == nullptr) break;
          std::move(more->begin(), more->end(), std::back_inserter(*entries));
          more->clear();
        }
        ApplyEntries(*entries);
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

std::optional<command::Command> Store::ShareableCommand(const raft::Entry& entry, LogIndex applied) const {
  // Not with change data capture: its rows are taken per entry, after the
  // entry's own commit. A big entry (a load, a large batch) is left to
  // itself, undecoded.
  if (entry.type != raft::EntryType::kNormal || entry.index <= applied || options_.change_listener != nullptr ||
      entry.data.size() > kGroupEntryBytesMax) {
    return std::nullopt;
  }
  Result<command::Command> command = command::DecodeCommand(entry.data);
  if (!command.ok()) return std::nullopt;  // ApplyEntry stops on it
  const bool write = command->type == command::CommandType::kExecute ||
                     command->type == command::CommandType::kExecuteQuery;
  if (!write || !db::CanShareTransaction(command->request)) return std::nullopt;
  return std::move(*command);
}

void Store::ApplyEntries(std::span<const raft::Entry> entries) {
  size_t next = 0;
  // The command of entries[next + group.size()] when the last pass decoded
  // it and found no room for it.
  std::optional<command::Command> carried;
  while (next < entries.size()) {
    LogIndex applied;
    {
      std::lock_guard lock(apply_mutex_);
      applied = applied_;
    }
    std::vector<command::Command> group;
    size_t statements = 0;
    while (next + group.size() < entries.size() && group.size() < kGroupEntriesMax) {
      std::optional<command::Command> command = std::exchange(carried, std::nullopt);
      if (!command) command = ShareableCommand(entries[next + group.size()], applied);
      if (!command) break;
      const size_t more = command->request.statements.size();
      if (!group.empty() && statements + more > kGroupStatementsMax) {
        carried = std::move(command);
        break;
      }
      statements += more;
      group.push_back(std::move(*command));
    }
    if (group.size() >= 2) {
      if (!ApplyGroup(entries.subspan(next, group.size()), group)) return;
      next += group.size();
      continue;
    }
    std::optional<command::Command> decoded;
    if (!group.empty()) decoded = std::move(group.front());
    if (!ApplyEntry(entries[next], std::move(decoded))) return;
    ++next;
  }
}

bool Store::ApplyGroup(std::span<const raft::Entry> entries, std::span<command::Command> commands) {
  if (entries.size() == 1) return ApplyEntry(entries.front(), std::move(commands.front()));
  std::vector<db::GroupedWrite> writes;
  writes.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    commands[i].request.db_timeout_ns = 0;  // as ApplyCommand says
    writes.push_back(db::GroupedWrite{&commands[i].request, commands[i].type == command::CommandType::kExecuteQuery,
                                      RandomSeedOf(entries[i])});
  }
  size_t breaker = 0;
  std::optional<std::vector<command::Response>> responses = db_->ExecuteGroup(writes, &breaker);
  if (db_->abandoned()) return false;
  if (!responses) {
    // Together they would not give what each gives alone, and nothing of
    // the group was kept. The entries before the one that ended it ran
    // together without trouble and will again from the same state; that
    // one runs alone, as if never grouped; the rest try again together.
    StoreCounters().num_apply_group_fallbacks.Add();
    const size_t k = std::min(breaker, entries.size() - 1);
    if (k > 0 && !ApplyGroup(entries.first(k), commands.first(k))) return false;
    if (!ApplyEntry(entries[k], std::move(commands[k]))) return false;
    return k + 1 == entries.size() || ApplyGroup(entries.subspan(k + 1), commands.subspan(k + 1));
  }
  if (responses->size() < entries.size() || !responses->back().environmental_error.empty()) {
    StopApplying(entries[responses->size() - 1], responses->back().environmental_error);
  }
  {
    std::lock_guard lock(apply_mutex_);
    RQ_ASSERT(entries.front().index == applied_ + 1);
    RQ_ASSERT(entries.back().index == entries.front().index + (entries.size() - 1));
    applied_ = entries.back().index;
    applied_term_ = entries.back().term;
    applied_at_ = std::chrono::system_clock::now();
    db_applied_ = entries.back().index;
  }
  StoreCounters().num_apply_groups.Add();
  Series().applied_entries.Add(static_cast<int64_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) CompletePending(entries[i], std::move((*responses)[i]));
  return true;
}

bool Store::ApplyEntry(const raft::Entry& entry, std::optional<command::Command> decoded) {
  {
    std::lock_guard lock(apply_mutex_);
    if (entry.index <= applied_) return true;  // already in the snapshot
    RQ_ASSERT(entry.index == applied_ + 1);
  }
  std::optional<command::Response> response;
  bool changed_database = false;
  if (entry.type == raft::EntryType::kNormal) {
    if (!decoded) {
      Result<command::Command> command = command::DecodeCommand(entry.data);
      // The entry passed the WAL's CRC; undecodable means a bug or a newer
      // format. Applying anything else would make this replica diverge.
      RQ_ASSERT_MSG(command.ok(), command.status().ToString().c_str());
      decoded = std::move(*command);
    }
    response = ApplyCommand(entry, *decoded, &changed_database);
  }
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

std::optional<command::Response> Store::ApplyCommand(const raft::Entry& entry, command::Command& command,
                                                     bool* changed_database) {
  *changed_database = command.type != command::CommandType::kQuery && command.type != command::CommandType::kNoop &&
                      command.type != command::CommandType::kCdcHighWaterMark;
  command::Response response;
  if (command.type != command::CommandType::kQuery) {
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
    command.request.db_timeout_ns = 0;
  }
  switch (command.type) {
    case command::CommandType::kExecute:
      response = db_->Execute(command.request);
      break;
    case command::CommandType::kQuery:
      response = db_->Query(command.request);
      break;
    case command::CommandType::kExecuteQuery:
      response = db_->ExecuteOrQuery(command.request);
      break;
    case command::CommandType::kLoad: {
      if (!IsSqliteImage(command.payload)) {
        response = db_->LoadDump(command.payload);
        break;
      }
      std::string path = env::JoinPath(paths_.tmp_dir, "apply-load-" + std::to_string(entry.index.value()));
      Status status = fs_->WriteFileAtomic(path, command.payload);
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
        options_.change_listener->OnHighWaterMark(LogIndex(command.high_water_mark));
      }
      return command::Response{};
  }
  if (!response.environmental_error.empty() && command.type != command::CommandType::kQuery) {
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
