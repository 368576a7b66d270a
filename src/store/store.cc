#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>

#include "base/coding.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "command/codec.h"
#include "env/posix_file_system.h"
#include "store/peers_file.h"

namespace rq::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

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

// fdatasync of an existing file (the SQLite WAL, which SQLite itself does
// not sync while synchronous=OFF). A missing file has nothing to sync.
Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::OK() : Status::IOError("open " + path);
  int rc = ::fdatasync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError("fdatasync " + path);
}

// A read through the log is rewritten like a write.
WriteOptions RewritingOf(const ReadOptions& options) {
  WriteOptions write;
  write.noparse = options.noparse;
  write.norwrandom = options.norwrandom;
  write.norwtime = options.norwtime;
  return write;
}

bool IsSqliteImage(std::string_view data) {
  static constexpr std::string_view kMagic("SQLite format 3\0", 16);
  return data.substr(0, kMagic.size()) == kMagic;
}

command::Response ErrorResponse(std::string message) {
  command::Response response;
  response.error = std::move(message);
  return response;
}

}  // namespace

Store::Store(const StoreOptions& options)
    : options_(options),
      paths_(options.data_dir),
      fs_(env::DefaultFileSystem()),
      random_(static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {}

Store::~Store() { Stop(); }

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
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
  db_options.max_read_connections = static_cast<uint32_t>(options_.max_read_connections);

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
  applied_ = snapshot_.meta.index;
  applied_term_ = snapshot_.meta.term;

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
    for (const raft::Entry& entry : *entries) ApplyEntry(entry);
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
  node_options.raft.applied = snapshot_.meta.index;
  node_options.tick = options_.tick;
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
  read_pool_ = std::make_unique<ReadPool>(options_.read_threads, 4096);
  apply_thread_ = std::thread([this] {
    NameThisThread("apply");
    ApplyLoop();
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
  if (apply_thread_.joinable()) apply_thread_.join();
  // Reads still waiting for an index: answer them (the pool refuses new work
  // once stopping, which answers Busy) rather than leave callers hanging.
  std::multimap<LogIndex, std::function<void()>> waiters;
  {
    std::lock_guard lock(apply_mutex_);
    waiters.swap(apply_waiters_);
  }
  for (auto& [index, run] : waiters) run();
  ExpireStaleReads(SteadyClock::time_point::max());
  read_pool_->Stop();
  std::map<LogIndex, Pending> pending;
  {
    std::lock_guard lock(pending_mutex_);
    pending.swap(pending_);
  }
  for (auto& [index, p] : pending) p.done(Status::Aborted("node is shutting down"));
  (void)db_->Close();
}

// ---- write path -------------------------------------------------------------

void Store::Execute(command::Request request, const WriteOptions& options, Done done) {
  ProposeRequest(command::CommandType::kExecute, std::move(request), options, std::move(done));
}

void Store::ProposeRequest(command::CommandType type, command::Request request, const WriteOptions& options,
                           Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // Refused requests never reach the log: the whole request fails, as a
  // 200 with "error" (API.md 2.1).
  if (Status allowed = db_->CheckAllowed(request); !allowed.ok()) {
    done(ErrorResponse(allowed.message()));
    return;
  }
  if (!options.noparse) {
    command::ProcessOptions process_options{!options.norwrandom, !options.norwtime};
    std::lock_guard lock(random_mutex_);
    Status processed = command::Process(&request, process_options, random_, std::chrono::system_clock::now());
    if (!processed.ok()) {
      done(ErrorResponse(processed.message()));
      return;
    }
  }
  command::Command command;
  command.type = type;
  command.request = std::move(request);
  Propose(std::move(command), std::move(done));
}

void Store::Propose(command::Command command, Done done) {
  std::string data = command::EncodeCommand(command);
  auto deadline = SteadyClock::now() + options_.apply_timeout;
  raft_node_->Propose(std::move(data), [this, done = std::move(done), deadline](
                                           Result<std::pair<LogIndex, Term>> appended) mutable {
    if (!appended.ok()) {
      done(appended.status());
      return;
    }
    RegisterPending(appended->first, Pending{appended->second, std::move(done), deadline});
  });
}

void Store::Load(std::string image, Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // Validate the whole image on a temporary copy before it can replace
  // anything (API.md "Our decisions" 6).
  std::string path = env::JoinPath(paths_.tmp_dir, "load-" + [this] {
    std::lock_guard lock(random_mutex_);
    return std::to_string(random_.Next());
  }() + ".sqlite");
  Status written = fs_->WriteFileAtomic(path, image);
  Status valid = written.ok() ? db::Database::ValidateImage(path) : written;
  (void)fs_->DeleteFile(path);
  if (!valid.ok()) {
    done(valid);
    return;
  }
  command::Command command;
  command.type = command::CommandType::kLoad;
  command.payload = std::move(image);
  Propose(std::move(command), std::move(done));
}

void Store::LoadDump(std::string sql, Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // A LOAD entry carries either a SQLite image or a SQL dump, told apart by
  // the SQLite magic exactly as /db/load tells its bodies apart. The dump
  // holds literal values already, so it is not rewritten.
  command::Command command;
  command.type = command::CommandType::kLoad;
  command.payload = std::move(sql);
  Propose(std::move(command), std::move(done));
}

// ---- read path ---------------------------------------------------------------

void Store::RunRead(command::Request request, Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  bool posted = read_pool_->Post([this, request = std::move(request), shared_done]() {
    (*shared_done)(db_->Query(request));
  });
  if (!posted) (*shared_done)(Status::Busy("too many concurrent reads"));
}

void Store::ReadAfterIndex(command::Request request, LogIndex index, Done done,
                           SteadyClock::time_point stale_after) {
  auto shared = std::make_shared<std::pair<command::Request, Done>>(std::move(request), std::move(done));
  std::unique_lock lock(apply_mutex_);
  if (applied_ >= index) {
    lock.unlock();
    RunRead(std::move(shared->first), std::move(shared->second));
    return;
  }
  if (stale_after == SteadyClock::time_point::max()) {
    apply_waiters_.emplace(index, [this, shared]() { RunRead(std::move(shared->first), std::move(shared->second)); });
    return;
  }
  // Whichever comes first answers: the index applied, or the deadline
  // (checked by the apply loop, at least once a second).
  auto answered = std::make_shared<std::atomic<bool>>(false);
  apply_waiters_.emplace(index, [this, shared, answered]() {
    if (!answered->exchange(true)) RunRead(std::move(shared->first), std::move(shared->second));
  });
  stale_deadlines_.emplace(stale_after, [shared, answered]() {
    if (!answered->exchange(true)) shared->second(ErrorResponse("stale read"));
  });
}

void Store::ExpireStaleReads(SteadyClock::time_point now) {
  std::vector<std::function<void()>> expired;
  {
    std::lock_guard lock(apply_mutex_);
    auto end = stale_deadlines_.upper_bound(now);
    for (auto it = stale_deadlines_.begin(); it != end; ++it) expired.push_back(std::move(it->second));
    stale_deadlines_.erase(stale_deadlines_.begin(), end);
  }
  for (auto& answer : expired) answer();
}

void Store::Query(command::Request request, const ReadOptions& options, Done done) {
  command::Consistency level = options.level;
  if (level == command::Consistency::kAuto) {
    bool voter = raft_node_->state().membership.IsVoter(options_.node_id);
    level = voter ? command::Consistency::kWeak : command::Consistency::kNone;
  }
  switch (level) {
    case command::Consistency::kNone:
      // freshness bounds how long ago a follower last heard from the leader
      // (ignored on the leader and when zero). freshness_strict also needs
      // the data itself that fresh: the read waits until everything the
      // leader had committed by then is applied here. (rqlite compares the
      // leader's append timestamp with the local clock; this needs no
      // synchronized clocks.)
      if (options.freshness.count() > 0 && !raft_node_->is_leader()) {
        if (SteadyClock::now() - raft_node_->last_leader_contact() >= options.freshness) {
          done(ErrorResponse("stale read"));
          return;
        }
        if (options.freshness_strict) {
          ReadAfterIndex(std::move(request), raft_node_->state().commit, std::move(done),
                         raft_node_->last_leader_contact() + options.freshness);
          return;
        }
      }
      RunRead(std::move(request), std::move(done));
      return;
    case command::Consistency::kWeak:
    case command::Consistency::kAuto:
      if (!raft_node_->is_leader()) {
        done(Status::NotLeader("not leader"));
        return;
      }
      RunRead(std::move(request), std::move(done));
      return;
    case command::Consistency::kLinearizable: {
      auto shared = std::make_shared<std::pair<command::Request, Done>>(std::move(request), std::move(done));
      raft_node_->ReadIndex([this, shared](Result<LogIndex> index) {
        if (!index.ok()) {
          shared->second(index.status());
          return;
        }
        ReadAfterIndex(std::move(shared->first), *index, std::move(shared->second));
      });
      return;
    }
    case command::Consistency::kStrong: {
      ProposeRequest(command::CommandType::kQuery, std::move(request), RewritingOf(options), std::move(done));
      return;
    }
  }
}

void Store::Request(command::Request request, const ReadOptions& options, Done done) {
  Result<bool> read_only = db_->IsReadOnly(request);
  bool through_log = options.level == command::Consistency::kStrong || !read_only.ok() || !*read_only;
  if (!through_log) {
    Query(std::move(request), options, std::move(done));
    return;
  }
  ProposeRequest(command::CommandType::kExecuteQuery, std::move(request), RewritingOf(options), std::move(done));
}

std::vector<command::RewritePreview> Store::PreviewSql(const command::Request& request,
                                                      const WriteOptions& options) {
  command::ProcessOptions process_options{!options.norwrandom, !options.norwtime};
  std::lock_guard lock(random_mutex_);
  return command::Preview(request, process_options, random_, std::chrono::system_clock::now());
}

// ---- apply loop -------------------------------------------------------------

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
      apply_wake_.wait_until(lock, std::min(next_snapshot_check, SteadyClock::now() + std::chrono::seconds(1)),
                             [&] { return apply_stopping_ || !apply_queue_.empty(); });
      if (apply_stopping_ && apply_queue_.empty()) break;
      items.swap(apply_queue_);
    }
    for (ApplyItem& item : items) {
      if (auto* entries = std::get_if<std::vector<raft::Entry>>(&item)) {
        for (const raft::Entry& entry : *entries) ApplyEntry(entry);
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
        boot->done(loaded);
      }
    }
    auto now = SteadyClock::now();
    ExpirePending(now);
    ExpireStaleReads(now);
    bool interval_due = now >= next_snapshot_check;
    if (interval_due) next_snapshot_check = now + options_.snapshot_interval;
    MaybeSnapshot(false, options_.snapshot_entries + options_.snapshot_entries / 4, nullptr);
    if (interval_due && options_.snapshot_wal_bytes > 0) {
      Result<uint64_t> wal_bytes = db_->WalSizeBytes();
      if (wal_bytes.ok() && *wal_bytes >= options_.snapshot_wal_bytes) {
        Status taken = TakeSnapshot(options_.snapshot_entries + options_.snapshot_entries / 4);
        if (!taken.ok()) RQ_LOG_ERROR("store: snapshot failed: {}", taken.ToString());
      }
    }
  }
}

void Store::ApplyEntry(const raft::Entry& entry) {
  {
    std::lock_guard lock(apply_mutex_);
    if (entry.index <= applied_) return;  // already in the snapshot
    RQ_ASSERT(entry.index == applied_ + 1);
  }
  std::optional<command::Response> response;
  if (entry.type == raft::EntryType::kNormal) response = ApplyCommand(entry);
  {
    std::lock_guard lock(apply_mutex_);
    applied_ = entry.index;
    applied_term_ = entry.term;
  }
  CompletePending(entry, std::move(response));
  if (entry.type == raft::EntryType::kConfigChange && on_removed_) {
    std::optional<raft::ConfigChange> change = raft::DecodeConfigChange(entry.data);
    // Replaying an old removal of a node that was added again is not one.
    bool removed = change && change->type == raft::ConfigChangeType::kRemove && change->node == options_.node_id &&
                   raft_node_ && !raft_node_->state().membership.Contains(options_.node_id);
    if (removed) on_removed_();
  }
}

// Stops the process at once, saying why on the log and on stderr. For
// failures after which going on could make this replica wrong; a restart
// recovers from the durable state (snapshot, intent, log).
[[noreturn]] static void StopNode(const std::string& why) {
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

std::optional<command::Response> Store::ApplyCommand(const raft::Entry& entry) {
  Result<command::Command> command = command::DecodeCommand(entry.data);
  // The entry passed the WAL's CRC; undecodable means a bug or a newer
  // format. Applying anything else would make this replica diverge.
  RQ_ASSERT_MSG(command.ok(), command.status().ToString().c_str());
  command::Response response;
  if (command->type != command::CommandType::kQuery) {
    // db_timeout interrupts a statement by this replica's clock: a write the
    // leader finished and a slower follower interrupted (or the reverse)
    // would leave them different, an acknowledged write missing from a
    // replica. So every replica runs a replicated write to its end.
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
  }
  if (!response.environmental_error.empty() && command->type != command::CommandType::kQuery) {
    StopApplying(entry, response.environmental_error);
  }
  return response;
}

void Store::RegisterPending(LogIndex index, Pending pending) {
  std::optional<Pending> superseded;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(index);
    if (it != pending_.end()) {
      // An entry of an older term was appended at this index and then
      // truncated: its outcome is unknown, and the new one must be tracked.
      superseded = std::move(it->second);
      it->second = std::move(pending);
    } else {
      pending_.emplace(index, std::move(pending));
    }
  }
  if (superseded) superseded->done(Status::UnknownOutcome("leadership changed before the write committed"));
}

void Store::CompletePending(const raft::Entry& entry, std::optional<command::Response> response) {
  std::vector<Pending> superseded;
  std::optional<Pending> mine;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(entry.index);
    if (it == pending_.end()) return;
    if (it->second.term == entry.term) {
      mine = std::move(it->second);
    } else {
      superseded.push_back(std::move(it->second));
    }
    pending_.erase(it);
  }
  for (Pending& p : superseded) p.done(Status::UnknownOutcome("leadership changed before the write committed"));
  if (!mine) return;
  command::Response result = response ? std::move(*response) : command::Response{};
  result.raft_index = entry.index.value();
  mine->done(std::move(result));
}

void Store::ExpirePending(SteadyClock::time_point now) {
  std::vector<Pending> expired;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Pending& p : expired) p.done(Status::Timeout("timeout waiting for the write to commit"));
}

void Store::RunApplyWaiters() {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(apply_mutex_);
    auto end = apply_waiters_.upper_bound(applied_);
    for (auto it = apply_waiters_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
    apply_waiters_.erase(apply_waiters_.begin(), end);
  }
  applied_changed_.notify_all();
  for (auto& fn : ready) fn();
}

bool Store::WaitForApplied(LogIndex index, SteadyClock::time_point deadline) {
  std::unique_lock lock(apply_mutex_);
  return applied_changed_.wait_until(lock, deadline, [&] { return applied_ >= index; });
}

// ---- snapshots ----------------------------------------------------------------

void Store::MaybeSnapshot(bool forced, uint64_t trailing_entries, std::function<void(Result<bool>)> done) {
  LogIndex applied, snapshot_index;
  {
    std::lock_guard lock(apply_mutex_);
    applied = applied_;
    snapshot_index = snapshot_.meta.index;
  }
  bool due = forced ? applied > snapshot_index : applied - snapshot_index >= options_.snapshot_entries;
  if (!due) {
    if (done) done(false);
    return;
  }
  Status taken = TakeSnapshot(trailing_entries);
  if (!taken.ok()) RQ_LOG_ERROR("store: snapshot failed: {}", taken.ToString());
  if (done) {
    if (taken.ok()) done(true);
    else done(taken);
  }
}

Status Store::TakeSnapshot(uint64_t trailing_entries) {
  SnapshotRecord record;
  {
    std::lock_guard lock(apply_mutex_);
    record.meta.index = applied_;
    record.meta.term = applied_term_;
  }
  // Membership as of the applied index comes from the core (it replays the
  // config entries); read it on the Raft thread.
  auto meta_promise = std::make_shared<std::promise<Result<raft::SnapshotMeta>>>();
  auto meta_future = meta_promise->get_future();
  bool posted = raft_node_->Post([meta_promise, index = record.meta.index](raft::Raft& raft) {
    meta_promise->set_value(raft.SnapshotMetaFor(index));
  });
  if (!posted) return Status::Aborted("snapshot: node stopping");
  if (meta_future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status::Timeout("snapshot: raft loop did not answer");
  }
  Result<raft::SnapshotMeta> meta = meta_future.get();
  if (!meta.ok()) return meta.status();
  record.meta = *meta;
  record.addresses = directory_.All();

  {
    // A peer is being sent the current snapshot's file: try again later
    // rather than stall writes until the stream ends.
    std::unique_lock file_lock(snapshot_file_mutex_, std::try_to_lock);
    if (!file_lock.owns_lock()) return Status::Busy("snapshot: the current snapshot is being streamed to a peer");
    RQ_RETURN_IF_ERROR(CheckpointAs(record));
  }
  auto compact_promise = std::make_shared<std::promise<Status>>();
  auto compact_future = compact_promise->get_future();
  bool compact_posted = raft_node_->Post([this, meta = record.meta, trailing_entries, compact_promise](raft::Raft& raft) {
    compact_promise->set_value(log_->CompactTo(raft, meta, trailing_entries));
  });
  if (!compact_posted) return Status::Aborted("snapshot: node stopping");
  if (compact_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return Status::Timeout("snapshot: raft loop did not compact");
  }
  RQ_LOG_INFO("store: snapshot at index {} (term {})", record.meta.index.value(), record.meta.term.value());
  return compact_future.get();
}

Status Store::CheckpointAs(const SnapshotRecord& record) {
  // The protocol of snapshot_meta.h: durable WAL, intent, checkpoint, commit.
  RQ_RETURN_IF_ERROR(SyncFile(paths_.db + "-wal"));
  RQ_RETURN_IF_ERROR(WriteSnapshotRecord(fs_, paths_.checkpoint_intent, record));
  // From here the SQLite WAL must stay exactly the state at the intent's
  // index until the checkpoint completes: nothing else may be applied. So a
  // checkpoint held up by readers is retried (writes wait), and one that
  // cannot finish stops the process, whose restart completes it from the
  // intent (see snapshot_meta.h). Giving up and going on could apply entries
  // twice after a crash.
  Status checkpointed = db_->Checkpoint();
  for (int attempt = 0; !checkpointed.ok() && checkpointed.IsBusy() && attempt < 600; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    checkpointed = db_->Checkpoint();
  }
  if (checkpointed.ok()) checkpointed = fs_->RenameFile(paths_.checkpoint_intent, paths_.snapshot_meta);
  if (checkpointed.ok()) checkpointed = fs_->SyncDir(paths_.raft_dir);
  if (!checkpointed.ok()) {
    StopNode("the snapshot at index " + std::to_string(record.meta.index.value()) +
             " could not be checkpointed: " + checkpointed.ToString() +
             " (a restart completes it from its intent file once the disk has room)");
  }
  std::lock_guard lock(apply_mutex_);
  snapshot_ = record;
  ++snapshots_taken_;
  return Status::OK();
}

Result<bool> Store::Snapshot(uint64_t trailing_entries) {
  auto promise = std::make_shared<std::promise<Result<bool>>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(SnapshotTask{trailing_entries, [promise](Result<bool> r) { promise->set_value(r); }});
  }
  apply_wake_.notify_one();
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    return Status::Timeout("snapshot did not finish in time");
  }
  return future.get();
}

Status Store::Boot(const std::string& image_path) {
  const raft::Membership& members = raft_node_->state().membership;
  if (members.voters.size() + members.learners.size() > 1) {
    return Status::NotSupported("boot is only supported on a single-node cluster");
  }
  if (!raft_node_->is_leader()) return Status::Unavailable("node is not the leader");
  RQ_RETURN_IF_ERROR(db::Database::ValidateImage(image_path));
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(BootTask{image_path, [promise](Status s) { promise->set_value(s); }});
  }
  apply_wake_.notify_one();
  return future.get();
}

Result<std::string> Store::Backup(BackupFormat format, bool vacuum, const std::vector<std::string>& tables) {
  std::string path = env::JoinPath(paths_.tmp_dir, "backup-" + [this] {
    std::lock_guard lock(random_mutex_);
    return std::to_string(random_.Next());
  }());
  if (format == BackupFormat::kSql) {
    std::ofstream out(path, std::ios::binary);
    if (!out) return Status::IOError("cannot create " + path);
    Status dumped = db_->DumpSql(
        [&out](std::string_view piece) {
          out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
          return out ? Status::OK() : Status::IOError("backup: write failed");
        },
        tables);
    out.close();
    if (!dumped.ok()) {
      (void)fs_->DeleteFile(path);
      return dumped;
    }
    return path;
  }
  Status status = db_->Backup(path, format == BackupFormat::kDelete ? db::BackupFormat::kBinaryDelete
                                                                   : db::BackupFormat::kBinaryWal,
                              vacuum);
  if (!status.ok()) {
    (void)fs_->DeleteFile(path);
    return status;
  }
  return path;
}

StoreStatus Store::status() const {
  StoreStatus status;
  status.raft = raft_node_ ? raft_node_->state() : NodeState{};
  {
    std::lock_guard lock(apply_mutex_);
    status.applied = applied_;
    status.snapshot_index = snapshot_.meta.index;
    status.snapshot_term = snapshot_.meta.term;
    status.snapshots_taken = snapshots_taken_;
  }
  if (auto wal = db_->WalSizeBytes(); wal.ok()) status.db_wal_bytes = *wal;
  if (auto size = fs_->FileSize(paths_.db); size.ok()) status.db_size_bytes = *size;
  status.ready = started_.load() && !status.raft.leader.empty();
  return status;
}

// ---- membership ----------------------------------------------------------------

void Store::UpdatePeers(const raft::Membership&) {
  if (transport_ == nullptr) return;  // still recovering; Start() sets the peers
  // Every node whose address is known, members or not: a node being added
  // must be reachable before its membership commits, and a joining node
  // must answer the leader before it learns the membership.
  // Called from the Raft loop and transport threads: reading the directory
  // and handing it over must not interleave, or an older view could land last.
  std::lock_guard lock(peers_mutex_);
  std::map<NodeId, std::string> peers;
  for (const auto& [id, address] : directory_.All()) {
    if (id != options_.node_id && !address.raft_addr.empty()) peers[id] = address.raft_addr;
  }
  transport_->SetPeers(std::move(peers));
}

void Store::LearnAddress(const NodeId& id, const NodeAddress& address) {
  if (id == options_.node_id || directory_.Get(id)) return;
  directory_.Set(id, address);
  UpdatePeers(raft::Membership{});
}

void Store::SetJoinHint(const std::string& raft_addr) {
  std::lock_guard lock(join_hint_mutex_);
  join_hint_ = raft_addr;
}

std::map<NodeId, SteadyClock::time_point> Store::LastContacts() const {
  std::lock_guard lock(contact_mutex_);
  return last_contact_;
}

void Store::NotePeerMessage(const raft::Message& message) {
  {
    std::lock_guard lock(contact_mutex_);
    last_contact_[message.from] = SteadyClock::now();
  }
  if (!directory_.Get(message.from)) {
    std::string hint;
    {
      std::lock_guard lock(join_hint_mutex_);
      hint = join_hint_;
    }
    if (!hint.empty()) {
      RQ_LOG_INFO("store: taking {} as the address of node {} (the join target)", hint, message.from.value());
      directory_.Set(message.from, NodeAddress{hint, ""});
      UpdatePeers(raft::Membership{});
    }
  }
}

void Store::Step(raft::Message message) {
  NotePeerMessage(message);
  raft_node_->Step(std::move(message));
}

void Store::StepAll(std::vector<raft::Message> messages) {
  // Replication messages run on the caller's (transport) thread when the
  // core is free: no handoff to the Raft thread on the write path.
  std::vector<raft::Message> replication;
  for (raft::Message& message : messages) {
    NotePeerMessage(message);
    if (std::holds_alternative<raft::AppendRequest>(message.body) ||
        std::holds_alternative<raft::AppendResponse>(message.body)) {
      replication.push_back(std::move(message));
    } else {
      if (!replication.empty()) raft_node_->StepOnCaller(std::exchange(replication, {}));
      raft_node_->Step(std::move(message));
    }
  }
  if (!replication.empty()) raft_node_->StepOnCaller(std::move(replication));
}

void Store::ProposeMembership(raft::ConfigChange change, std::function<void(Status)> done) {
  auto deadline = SteadyClock::now() + options_.apply_timeout;
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  raft_node_->ProposeConfigChange(std::move(change), [this, shared_done, deadline](
                                                         Result<std::pair<LogIndex, Term>> appended) {
    if (!appended.ok()) {
      (*shared_done)(appended.status());
      return;
    }
    Done on_applied = [shared_done](Result<command::Response> result) {
      (*shared_done)(result.ok() ? Status::OK() : result.status());
    };
    RegisterPending(appended->first, Pending{appended->second, std::move(on_applied), deadline});
  });
}

void Store::Join(const NodeId& id, const NodeAddress& address, bool voter, std::function<void(Status)> done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  NodeState state = raft_node_->state();
  bool member = state.membership.Contains(id);
  bool same_role = voter ? state.membership.IsVoter(id) : state.membership.IsLearner(id);
  std::optional<NodeAddress> known = directory_.Get(id);
  if (member && same_role && known && *known == address) {
    done(Status::OK());  // rejoining with the same ID and address: nothing to do
    return;
  }
  raft::ConfigChange add;
  add.type = voter ? raft::ConfigChangeType::kAddVoter : raft::ConfigChangeType::kAddLearner;
  add.node = id;
  add.context = EncodeNodeAddress(address);
  bool demotion = member && !voter && state.membership.IsVoter(id);
  bool moved = member && known && !(*known == address);
  if (!demotion && !moved) {
    ProposeMembership(std::move(add), std::move(done));
    return;
  }
  // A changed address (or a voter rejoining as a learner) replaces the old
  // entry: remove it first, then add it again, one change at a time.
  raft::ConfigChange remove;
  remove.type = raft::ConfigChangeType::kRemove;
  remove.node = id;
  ProposeMembership(std::move(remove), [this, add = std::move(add), done = std::move(done)](Status removed) mutable {
    if (!removed.ok()) {
      done(removed);
      return;
    }
    ProposeMembership(std::move(add), std::move(done));
  });
}

void Store::Remove(const NodeId& id, std::function<void(Status)> done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  if (!raft_node_->state().membership.Contains(id)) {
    done(Status::NotFound("node " + id.value() + " is not a member of the cluster"));
    return;
  }
  raft::ConfigChange remove;
  remove.type = raft::ConfigChangeType::kRemove;
  remove.node = id;
  std::optional<NodeAddress> address = directory_.Get(id);
  ProposeMembership(std::move(remove), [this, id, address, done = std::move(done)](Status status) {
    if (status.ok() && address && on_member_removed_ && id != options_.node_id) on_member_removed_(id, *address);
    done(std::move(status));
  });
}

void Store::OnRemovedByLeader() {
  if (raft_node_->is_leader()) return;  // a stale notice: this node leads again
  RQ_LOG_WARN("store: the leader removed this node from the cluster");
  if (on_removed_) on_removed_();
}

void Store::StepDown(const NodeId& target, std::function<void(Status)> done) {
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool posted = raft_node_->Post([this, target, shared_done](raft::Raft& raft) {
    if (raft.role() != raft::Role::kLeader) {
      (*shared_done)(Status::NotLeader("not leader"));
      return;
    }
    NodeId chosen = target;
    if (chosen.empty()) {
      LogIndex best;
      for (const auto& [id, match] : raft.progress()) {
        if (id == options_.node_id || !raft.membership().IsVoter(id)) continue;
        if (chosen.empty() || match > best) {
          chosen = id;
          best = match;
        }
      }
    }
    if (chosen.empty()) {
      (*shared_done)(Status::InvalidArgument("no other voter to transfer leadership to"));
      return;
    }
    (*shared_done)(raft.TransferLeadership(chosen));
  });
  if (!posted) (*shared_done)(Status::Aborted("node is shutting down"));
}

void Store::BootstrapCluster(std::vector<std::pair<NodeId, NodeAddress>> voters, std::function<void(Status)> done) {
  // Sorted, so every node bootstrapping with the same members writes the
  // same entries at the same indexes (Raft's log matching then holds).
  std::sort(voters.begin(), voters.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<raft::ConfigChange> members;
  for (const auto& [id, address] : voters) {
    raft::ConfigChange member;
    member.type = raft::ConfigChangeType::kAddVoter;
    member.node = id;
    member.context = EncodeNodeAddress(address);
    members.push_back(std::move(member));
  }
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool posted = raft_node_->Post([members = std::move(members), shared_done](raft::Raft& raft) {
    (*shared_done)(raft.Bootstrap(members));
  });
  if (!posted) (*shared_done)(Status::Aborted("node is shutting down"));
}

std::optional<NodeAddress> Store::LeaderAddress() const {
  NodeId leader = raft_node_->state().leader;
  if (leader.empty()) return std::nullopt;
  return directory_.Get(leader);
}

// ---- snapshot transfer -------------------------------------------------------------
//
// Stream layout: magic u32 "RQSS" | record length u32 | snapshot record
// (EncodeSnapshotRecord: meta and member addresses) | the main database file.
// While the main file is streamed, checkpoints wait (snapshot_file_mutex_
// shared), so the bytes stay exactly the state at meta.index.

namespace {

constexpr uint32_t kStreamMagic = 0x52515353;  // "RQSS"
constexpr size_t kStreamHeaderBytes = 8;
constexpr uint32_t kStreamRecordBytesMax = 16 << 20;

class FileSnapshotStream final : public Store::SnapshotStream {
 public:
  FileSnapshotStream(std::shared_lock<std::shared_mutex> lock, std::string header, int fd, uint64_t file_bytes)
      : lock_(std::move(lock)), header_(std::move(header)), fd_(fd), file_bytes_(file_bytes) {}
  ~FileSnapshotStream() override { ::close(fd_); }
  uint64_t total_bytes() const override { return header_.size() + file_bytes_; }
  Status Read(size_t max_bytes, std::string* out) override {
    out->clear();
    if (header_offset_ < header_.size()) {
      size_t n = std::min(max_bytes, header_.size() - header_offset_);
      out->assign(header_, header_offset_, n);
      header_offset_ += n;
      return Status::OK();
    }
    if (file_offset_ >= file_bytes_) return Status::OK();
    size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, file_bytes_ - file_offset_));
    out->resize(n);
    ssize_t got = ::pread(fd_, out->data(), n, static_cast<off_t>(file_offset_));
    if (got <= 0) return Status::IOError("snapshot stream: read of db.sqlite failed");
    out->resize(static_cast<size_t>(got));
    file_offset_ += static_cast<uint64_t>(got);
    return Status::OK();
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  std::string header_;
  size_t header_offset_ = 0;
  int fd_;
  uint64_t file_bytes_;
  uint64_t file_offset_ = 0;
};

class FileIncomingSnapshot final : public Store::IncomingSnapshot {
 public:
  FileIncomingSnapshot(env::FileSystem* fs, const DataPaths& paths, raft::SnapshotMeta meta,
                       std::unique_ptr<env::WritableFile> file)
      : fs_(fs), paths_(paths), meta_(std::move(meta)), file_(std::move(file)) {}
  ~FileIncomingSnapshot() override {
    if (!finished_) Abort();
  }

  Status Write(std::string_view chunk) override {
    if (!header_done_) {
      size_t take = 0;
      if (header_.size() < kStreamHeaderBytes) {
        take = std::min(chunk.size(), kStreamHeaderBytes - header_.size());
      } else {
        uint32_t record_bytes = coding::DecodeFixed32(header_.data() + 4);
        if (coding::DecodeFixed32(header_.data()) != kStreamMagic || record_bytes > kStreamRecordBytesMax) {
          return Status::Corruption("snapshot stream: bad header");
        }
        take = std::min(chunk.size(), kStreamHeaderBytes + record_bytes - header_.size());
      }
      header_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (header_.size() >= kStreamHeaderBytes &&
          header_.size() == kStreamHeaderBytes + coding::DecodeFixed32(header_.data() + 4)) {
        header_done_ = true;
      }
      if (chunk.empty()) return Status::OK();
      if (!header_done_) return Write(chunk);
    }
    return file_->Append(chunk);
  }

  Status Finish() override {
    if (!header_done_) return Status::Corruption("snapshot stream: ended inside its header");
    Result<SnapshotRecord> record = DecodeSnapshotRecord(std::string_view(header_).substr(kStreamHeaderBytes));
    if (!record.ok()) return record.status();
    // The membership too: it is installed from this record, and the
    // announced one is what the core was told.
    if (record->meta != meta_) {
      return Status::Corruption("snapshot stream: record does not match the snapshot announced");
    }
    RQ_RETURN_IF_ERROR(file_->Sync());
    RQ_RETURN_IF_ERROR(file_->Close());
    RQ_RETURN_IF_ERROR(db::Database::ValidateImage(part_path()));
    RQ_RETURN_IF_ERROR(fs_->RenameFile(part_path(), paths_.IncomingDb(meta_)));
    // Durable before the core may act on the snapshot: a crash after the log
    // is reset finds this intent and completes the installation.
    RQ_RETURN_IF_ERROR(WriteSnapshotRecord(fs_, paths_.InstallIntent(meta_), *record));
    finished_ = true;
    return Status::OK();
  }

  void Abort() override {
    finished_ = true;
    (void)file_->Close();
    (void)fs_->DeleteFile(part_path());
  }

  std::string part_path() const { return paths_.IncomingDb(meta_) + ".part"; }

 private:
  env::FileSystem* fs_;
  DataPaths paths_;
  raft::SnapshotMeta meta_;
  std::unique_ptr<env::WritableFile> file_;
  std::string header_;
  bool header_done_ = false;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<Store::SnapshotStream>> Store::OpenSnapshotStream(const raft::SnapshotMeta& meta) {
  std::shared_lock lock(snapshot_file_mutex_);
  SnapshotRecord record;
  {
    std::lock_guard apply_lock(apply_mutex_);
    record = snapshot_;
  }
  if (record.meta.index != meta.index || record.meta.term != meta.term) {
    return Status::NotFound("snapshot " + std::to_string(meta.index.value()) + " is no longer the latest");
  }
  int fd = ::open(paths_.db.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("snapshot stream: cannot open " + paths_.db);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    ::close(fd);
    return Status::IOError("snapshot stream: cannot size " + paths_.db);
  }
  std::string encoded = EncodeSnapshotRecord(record);
  std::string header;
  coding::PutFixed32(&header, kStreamMagic);
  coding::PutFixed32(&header, static_cast<uint32_t>(encoded.size()));
  header += encoded;
  return std::unique_ptr<SnapshotStream>(
      new FileSnapshotStream(std::move(lock), std::move(header), fd, static_cast<uint64_t>(size)));
}

Result<std::unique_ptr<Store::IncomingSnapshot>> Store::BeginIncomingSnapshot(const raft::SnapshotMeta& meta) {
  auto file = fs_->NewWritableFile(paths_.IncomingDb(meta) + ".part", env::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  return std::unique_ptr<IncomingSnapshot>(new FileIncomingSnapshot(fs_, paths_, meta, std::move(file).value()));
}

void Store::InstallSnapshot(const raft::SnapshotMeta& meta) {
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(InstallTask{meta});
  }
  apply_wake_.notify_one();
}

Status Store::InstallReceived(const SnapshotRecord& record) {
  std::unique_lock file_lock(snapshot_file_mutex_);
  RQ_RETURN_IF_ERROR(db_->LoadImage(paths_.IncomingDb(record.meta)));
  // LoadImage wrote the new content through the WAL; the checkpoint protocol
  // makes the main file that state, recorded at the snapshot's index.
  RQ_RETURN_IF_ERROR(CheckpointAs(record));
  {
    std::lock_guard lock(apply_mutex_);
    applied_ = record.meta.index;
    applied_term_ = record.meta.term;
  }
  for (const auto& [id, address] : record.addresses) directory_.Set(id, address);
  UpdatePeers(record.meta.membership);
  (void)fs_->DeleteFile(paths_.InstallIntent(record.meta));
  (void)fs_->DeleteFile(paths_.IncomingDb(record.meta));
  RQ_RETURN_IF_ERROR(fs_->SyncDir(paths_.raft_dir));
  RQ_LOG_INFO("store: installed snapshot at index {} (term {})", record.meta.index.value(),
              record.meta.term.value());
  return Status::OK();
}

Status Store::RecoverPendingInstall() {
  // Received snapshots recorded but not installed when the node stopped: the
  // newest one newer than our own is installed (Raft may already have reset
  // the log to it); every other leftover is removed.
  Result<std::vector<std::string>> names = fs_->ListDir(paths_.raft_dir);
  if (!names.ok()) return names.status();
  std::optional<SnapshotRecord> newest;
  std::vector<std::string> leftovers;
  for (const std::string& name : *names) {
    bool intent = name.rfind("install-", 0) == 0;
    bool incoming = name.rfind("incoming-", 0) == 0;
    if (!intent && !incoming) continue;
    leftovers.push_back(env::JoinPath(paths_.raft_dir, name));
    if (!intent || name.size() < 7 || name.substr(name.size() - 7) != ".intent") continue;
    Result<SnapshotRecord> record = ReadSnapshotRecord(fs_, leftovers.back());
    if (!record.ok()) continue;  // written atomically: a bad one was never finished
    bool usable = record->meta.index > snapshot_.meta.index && fs_->FileExists(paths_.IncomingDb(record->meta));
    if (usable && (!newest || record->meta.index > newest->meta.index)) newest = *record;
  }
  if (newest) {
    RQ_LOG_WARN("store: completing the installation of received snapshot {}", newest->meta.index.value());
    RQ_RETURN_IF_ERROR(InstallReceived(*newest));
  }
  for (const std::string& path : leftovers) (void)fs_->DeleteFile(path);
  return Status::OK();
}

}  // namespace rq::store
