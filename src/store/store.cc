// Store: recovery from the data dir, Start and Stop of its threads, status.
// The rest of the class lives in store_write.cc, store_read.cc, store_apply.cc,
// store_snapshot.cc, store_backup.cc and store_membership.cc.
#include "store/store.h"

#include "base/logging.h"
#include "base/thread_name.h"
#include "env/posix_file_system.h"
#include "store/peers_file.h"
#include "store/store_internal.h"
#include "store/store_metrics.h"

namespace rq::store {

using internal::SteadyClock;

namespace {

// Routes the core's lines to spdlog, filtered by -raft-log-level.
class SpdRaftLogger final : public raft::Logger {
 public:
  explicit SpdRaftLogger(std::string_view level) {
    if (level == "DEBUG" || level == "debug") min_ = Level::kDebug;
    else if (level == "INFO" || level == "info") min_ = Level::kInfo;
    else if (level == "ERROR" || level == "error") min_ = Level::kError;
    else min_ = Level::kWarn;
  }
  void Log(Level level, std::string_view line) override {
    if (!Enabled(level)) return;
    switch (level) {
      case Level::kDebug: spdlog::debug("raft: {}", line); break;
      case Level::kInfo: spdlog::info("raft: {}", line); break;
      case Level::kWarn: spdlog::warn("raft: {}", line); break;
      case Level::kError: spdlog::error("raft: {}", line); break;
    }
  }
  bool Enabled(Level level) const override { return level >= min_; }

 private:
  Level min_;
};

}  // namespace

Store::Store(const StoreOptions& options)
    : options_(options),
      paths_(options.data_dir),
      fs_(env::DefaultFileSystem()),
      random_(static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {}

Store::~Store() { Stop(); }

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  RegisterMetrics();  // the keys show in /debug/vars from the start
  std::unique_ptr<Store> store(new Store(options));
  Status recovered = store->Recover();
  if (!recovered.ok()) return recovered;
  return store;
}

Status Store::Recover() {
  for (const std::string& dir : {paths_.data_dir, paths_.raft_dir, paths_.log_dir, paths_.tmp_dir}) {
    RQ_RETURN_IF_ERROR(fs_->CreateDir(dir));
  }
  // Leftovers of backups and uploads from an earlier run.
  if (auto names = fs_->ListDir(paths_.tmp_dir); names.ok()) {
    for (const std::string& name : *names) (void)fs_->DeleteFile(env::JoinPath(paths_.tmp_dir, name));
  }

  Result<SnapshotRecord> snapshot = ReadSnapshotRecord(fs_, paths_.snapshot_meta);
  if (!snapshot.ok() && !snapshot.status().IsNotFound()) return snapshot.status();
  if (snapshot.ok()) snapshot_ = *snapshot;

  db::Options db_options;
  db_options.foreign_keys = options_.foreign_keys;
  db_options.extensions = options_.extensions;
  db_options.max_read_connections = static_cast<uint32_t>(options_.max_read_connections);
  db_options.capture = options_.capture;
  db_options.capture.enabled = db_options.capture.enabled && options_.change_listener != nullptr;

  Result<SnapshotRecord> intent = ReadSnapshotRecord(fs_, paths_.checkpoint_intent);
  if (intent.ok()) {
    // A crash interrupted a snapshot after its WAL was made durable: finish it
    // (see snapshot_meta.h).
    RQ_LOG_WARN("store: completing the snapshot at index {} interrupted by a crash",
                intent->meta.index.value());
    auto db = db::Database::Open(paths_.db, db_options);
    if (!db.ok()) return db.status();
    db_ = std::move(db).value();
    RQ_RETURN_IF_ERROR(db_->Checkpoint());
    RQ_RETURN_IF_ERROR(fs_->RenameFile(paths_.checkpoint_intent, paths_.snapshot_meta));
    RQ_RETURN_IF_ERROR(fs_->SyncDir(paths_.raft_dir));
    snapshot_ = *intent;
  } else {
    if (!intent.status().IsNotFound()) return intent.status();
    // The SQLite WAL holds changes since the last snapshot, written without
    // fsync: untrusted after a crash, and replayed from the Raft log anyway.
    RQ_RETURN_IF_ERROR(db::Database::DiscardWal(paths_.db));
    auto db = db::Database::Open(paths_.db, db_options);
    if (!db.ok()) return db.status();
    db_ = std::move(db).value();
  }
  RQ_RETURN_IF_ERROR(RecoverPendingInstall());
  auto schedule = MaintenanceSchedule::Load(fs_, paths_.maintenance, options_.auto_vacuum_interval,
                                            options_.auto_optimize_interval, std::chrono::system_clock::now());
  if (!schedule.ok()) return schedule.status();
  maintenance_ = std::move(schedule).value();
  applied_ = snapshot_.meta.index;
  applied_term_ = snapshot_.meta.term;
  db_applied_ = snapshot_.meta.index;

  auto log = WalLogStorage::Open(fs_, paths_.log_dir, snapshot_.meta);
  if (!log.ok()) return log.status();
  log_ = std::move(log).value();
  RQ_LOG_INFO("store: recovered snapshot index {}, log [{}, {}]", snapshot_.meta.index.value(),
              log_->first_index().value(), log_->last_index().value());
  directory_.Replace(snapshot_.addresses);
  RQ_RETURN_IF_ERROR(LearnAddressesFromLog());
  return RecoverFromPeersFile();
}

Status Store::RecoverFromPeersFile() {
  const std::string peers_path = env::JoinPath(paths_.raft_dir, "peers.json");
  if (!fs_->FileExists(peers_path)) return Status::OK();
  Result<std::string> text = fs_->ReadFile(peers_path);
  if (!text.ok()) return text.status();
  Result<std::vector<PeerEntry>> peers = ParsePeersFile(*text);
  if (!peers.ok()) return peers.status();
  if (log_->last_index() == LogIndex(0)) {
    return Status::InvalidArgument("peers.json: this node has no log and no snapshot, so nothing to recover");
  }
  raft::Membership membership = MembershipOf(*peers);
  if (!membership.Contains(options_.node_id)) {
    RQ_LOG_WARN("store: peers.json does not list this node ({}); it will not take part", options_.node_id.value());
  }
  // Like rqlite (hashicorp/raft RecoverCluster): everything in the log is
  // applied, committed or not, since no quorum is left to say otherwise.
  const LogIndex last = log_->last_index();
  RQ_LOG_WARN("store: recovering with {}: applying the log up to index {}", peers_path, last.value());
  for (LogIndex next = applied_ + 1; next <= last;) {
    auto entries = log_->entries(next, last + 1, 8 << 20);
    if (!entries.ok()) return entries.status();
    for (const raft::Entry& entry : *entries) {
      if (!ApplyEntry(entry)) return Status::Aborted("store: stopped while recovering");
    }
    next = entries->back().index + 1;
  }
  SnapshotRecord record;
  record.meta.index = applied_;
  record.meta.term = applied_term_;
  record.meta.membership = membership;
  for (const PeerEntry& peer : *peers) {
    NodeAddress address{peer.raft_addr, ""};
    std::optional<NodeAddress> known = directory_.Get(peer.id);
    if (known && known->raft_addr == peer.raft_addr) address.api_addr = known->api_addr;
    if (peer.id == options_.node_id) address.api_addr = options_.api_addr;
    record.addresses[peer.id] = address;
  }
  RQ_RETURN_IF_ERROR(CheckpointAs(record));
  // No entry of the old history may survive: a leader would send its old
  // configuration entries to a node joining later (hashicorp/raft's
  // RecoverCluster drops the log too). New members get the snapshot.
  RQ_RETURN_IF_ERROR(log_->ResetTo(record.meta));
  directory_.Replace(record.addresses);
  RQ_RETURN_IF_ERROR(fs_->RenameFile(peers_path, env::JoinPath(paths_.raft_dir, "peers.info")));
  RQ_RETURN_IF_ERROR(fs_->SyncDir(paths_.raft_dir));
  RQ_LOG_WARN("store: recovered at index {} with {} voters and {} non-voters; peers.json renamed to peers.info",
              record.meta.index.value(), membership.voters.size(), membership.learners.size());
  StoreCounters().num_recoveries.Add();
  return Status::OK();
}

Status Store::LearnAddressesFromLog() {
  // Membership changes after the snapshot carry the addresses of the nodes
  // they add; read them back in bounded batches.
  LogIndex next = log_->first_index();
  LogIndex end = log_->last_index() + 1;
  for (int batches = 0; next < end; ++batches) {
    RQ_ASSERT(batches < (1 << 30));
    auto entries = log_->entries(next, end, 8 << 20);
    if (!entries.ok()) return entries.status();
    for (const raft::Entry& entry : *entries) directory_.Observe(entry);
    next = entries->back().index + 1;
  }
  return Status::OK();
}

Status Store::Start(bool bootstrap_single, Transport* transport) {
  RQ_ASSERT(!started_.load());
  raft_logger_ = std::make_unique<SpdRaftLogger>(options_.raft_log_level);
  if (transport == nullptr) {
    null_transport_ = std::make_unique<NullTransport>();
    transport = null_transport_.get();
  }
  transport_ = transport;
  RaftNode::Options node_options;
  node_options.raft.id = options_.node_id;
  node_options.raft.election_ticks = options_.election_ticks;
  node_options.raft.heartbeat_ticks = options_.heartbeat_ticks;
  node_options.raft.lease_ticks = options_.lease_ticks;
  node_options.raft.applied = snapshot_.meta.index;
  node_options.tick = options_.tick;
  node_options.commit_notice_delay = options_.commit_timeout;
  node_options.seed = static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count());
  RQ_RETURN_IF_ERROR(node_options.raft.Validate());
  raft_node_ = std::make_unique<RaftNode>(node_options, log_.get(), transport, this,
                                          raft_logger_.get());
  bool fresh = log_->last_index() == LogIndex(0) && snapshot_.meta.index == LogIndex(0);
  NodeAddress self{options_.raft_addr, options_.api_addr};
  directory_.Set(options_.node_id, self);
  if (fresh && bootstrap_single) {
    raft::ConfigChange member;
    member.type = raft::ConfigChangeType::kAddVoter;
    member.node = options_.node_id;
    member.context = EncodeNodeAddress(self);
    RQ_RETURN_IF_ERROR(raft_node_->Bootstrap({member}));
  }
  raft_node_->SetPersistObserver(
      [this](const std::vector<raft::Entry>& entries, const std::optional<raft::Membership>& membership) {
        for (const raft::Entry& entry : entries) directory_.Observe(entry);
        if (membership) UpdatePeers(*membership);
      });
  // Up to 16 readers when slow queries hold the first ones (ReadPool).
  read_pool_ = std::make_unique<ReadPool>(options_.read_threads, std::max(options_.read_threads, 16), 4096);
  apply_thread_ = std::thread([this] {
    NameThisThread("apply");
    ApplyLoop();
    {
      std::lock_guard lock(apply_mutex_);
      apply_exited_ = true;
    }
    apply_exit_.notify_all();
  });
  raft_node_->Start();
  UpdatePeers(raft_node_->state().membership);
  started_ = true;
  // A single voter need not wait for an election timeout.
  const raft::Membership& members = raft_node_->state().membership;
  if (members.voters.size() == 1 && members.voters[0] == options_.node_id) raft_node_->Campaign();
  return Status::OK();
}

void Store::Stop() {
  if (!started_.load() || stopped_.exchange(true)) return;
  raft_node_->Stop();
  {
    std::lock_guard lock(apply_mutex_);
    apply_stopping_ = true;
  }
  apply_wake_.notify_all();
  {
    // What is queued usually finishes in moments. A write without a
    // db_timeout can run for hours and would hold the exit as long: past the
    // grace it is abandoned, not counted as applied, and the next start
    // discards its changes with the SQLite WAL and applies it again.
    std::unique_lock lock(apply_mutex_);
    if (!apply_exit_.wait_for(lock, options_.apply_drain_grace, [&] { return apply_exited_; })) {
      RQ_LOG_WARN("store: the apply thread is still busy after {} ms; abandoning its work (applied again at the "
                  "next start)",
                  options_.apply_drain_grace.count());
    }
  }
  // Reads too: a query without a db_timeout would hold the read pool's join.
  db_->Abandon();
  if (apply_thread_.joinable()) apply_thread_.join();
  // Reads still waiting for an index: answer them (the pool refuses new work
  // once stopping, which answers Busy) rather than leave callers hanging.
  std::multimap<LogIndex, std::function<void()>> waiters;
  {
    std::lock_guard lock(apply_mutex_);
    waiters.swap(apply_waiters_);
  }
  for (auto& [index, run] : waiters) run();
  ExpireStaleReads(SteadyClock::time_point::max());  // sync reads too: Aborted
  read_pool_->Stop();
  std::map<LogIndex, Pending> pending;
  {
    std::lock_guard lock(pending_mutex_);
    pending.swap(pending_);
  }
  for (auto& [index, p] : pending) p.done(Status::Aborted("node is shutting down"));
  (void)db_->Close();
}

StoreStatus Store::status() const {
  StoreStatus status;
  status.raft = raft_node_ ? raft_node_->state() : NodeState{};
  {
    std::lock_guard lock(apply_mutex_);
    status.applied = applied_;
    status.applied_term = applied_term_;
    status.applied_at = applied_at_;
    status.db_applied = db_applied_;
    status.snapshot_index = snapshot_.meta.index;
    status.snapshot_term = snapshot_.meta.term;
    status.snapshots_taken = snapshots_taken_;
  }
  if (auto wal = db_->WalSizeBytes(); wal.ok()) status.db_wal_bytes = *wal;
  if (auto size = fs_->FileSize(paths_.db); size.ok()) status.db_size_bytes = *size;
  status.ready = started_.load() && !status.raft.leader.empty();
  return status;
}

}  // namespace rq::store
