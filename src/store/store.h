// Store: the replicated state machine of one node (rqlite's store package).
//
// It owns the Raft loop (RaftNode), the durable log (WalLogStorage), the
// apply loop (one thread, the only SQLite writer) and the read pool, and
// offers Execute / Query / Request / Load / Backup / Snapshot to the API
// layer. The write path: Execute -> checks + rewriting -> Propose -> Raft
// loop persists and commits -> apply thread runs the entry on SQLite ->
// the caller's callback gets the results and the entry's index.
//
// Thread-safety: every public method is safe from any thread. Callbacks
// (Done) run on the apply thread, the Raft thread or a read thread and must
// not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "command/command.h"
#include "command/sql_processor.h"
#include "command/types.h"
#include "db/database.h"
#include "env/file_system.h"
#include "raft/logger.h"
#include "store/change_listener.h"
#include "store/node_directory.h"
#include "store/raft_node.h"
#include "store/maintenance.h"
#include "store/read_pool.h"
#include "store/snapshot_meta.h"
#include "store/wal_log_storage.h"

namespace rq::store {

struct StoreOptions {
  std::string data_dir;
  NodeId node_id;
  std::string raft_addr;  // advertised
  std::string api_addr;   // advertised, host:port
  std::chrono::milliseconds tick{100};
  uint32_t election_ticks = 10;   // -raft-election-timeout / tick
  uint32_t heartbeat_ticks = 1;
  uint32_t lease_ticks = 0;       // -raft-leader-lease-timeout / tick (0: election_ticks)
  // -raft-commit-timeout: how long a follower that has every entry may wait
  // to learn that they committed (RaftNode's commit_notice_delay).
  std::chrono::milliseconds commit_timeout{50};
  uint64_t snapshot_entries = 8192;        // -raft-snap
  uint64_t snapshot_wal_bytes = 4 << 20;   // -raft-snap-wal-size (0: off)
  std::chrono::milliseconds snapshot_interval{10000};  // -raft-snap-int
  std::chrono::milliseconds apply_timeout{10000};      // -raft-apply-timeout
  std::chrono::milliseconds auto_vacuum_interval{0};    // -auto-vacuum-int (0: off)
  std::chrono::milliseconds auto_optimize_interval{0};  // -auto-optimize-int (0: off)
  // How long Stop lets queued entries finish before abandoning them (they
  // are applied again at the next start).
  std::chrono::milliseconds apply_drain_grace{2000};
  bool foreign_keys = false;
  std::vector<std::string> extensions;  // libraries every connection loads
  int64_t max_read_connections = 256;
  int read_threads = 2;
  std::string raft_log_level = "WARN";
  // Change data capture (-cdc-config): which rows the apply connection
  // captures, and who receives them. REQUIRES: outlives the store.
  db::ChangeCaptureOptions capture;
  ChangeListener* change_listener = nullptr;
};

// Options of one write.
struct WriteOptions {
  bool noparse = false;
  bool norwrandom = false;
  bool norwtime = false;
};

// Options of one read.
struct ReadOptions {
  command::Consistency level = command::Consistency::kWeak;
  std::chrono::nanoseconds freshness{0};
  bool freshness_strict = false;
  std::chrono::nanoseconds linearizable_timeout{std::chrono::seconds(10)};
  bool noparse = false;
  bool norwrandom = false;
  bool norwtime = false;
  // ?sync_index: the read waits until this node has applied this index
  // (0: no wait), up to sync_timeout; then it runs at its level.
  LogIndex sync_index;
  std::chrono::nanoseconds sync_timeout{std::chrono::seconds(30)};
};

using Done = std::function<void(Result<command::Response>)>;

struct StoreStatus {
  NodeState raft;
  LogIndex applied;
  Term applied_term;
  // When this node last applied an entry, by its own clock; none yet since
  // it started.
  std::optional<std::chrono::system_clock::time_point> applied_at;
  // The last applied entry that changed the database (a write or a load);
  // the snapshot's index after a restore.
  LogIndex db_applied;
  LogIndex snapshot_index;
  Term snapshot_term;
  uint64_t snapshots_taken = 0;
  uint64_t db_wal_bytes = 0;
  uint64_t db_size_bytes = 0;
  bool ready = false;
};

class Store final : public Applier {
 public:
  // Recovers the node's state from data_dir (creating it when new); does not
  // start any thread yet.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store() override;

  // Starts the loops. A node with no log and no snapshot bootstraps itself as
  // a one-voter cluster when `bootstrap_single` is true (a joining node does
  // not: the leader's log tells it the membership). `transport` reaches the
  // other members; null for a node that never has peers.
  // REQUIRES: `transport` outlives the store.
  Status Start(bool bootstrap_single, Transport* transport = nullptr);
  // Stops accepting requests, finishes the entries already committed, and
  // stops every thread. Idempotent.
  void Stop();

  void Execute(command::Request request, const WriteOptions& options, Done done);
  void Query(command::Request request, const ReadOptions& options, Done done);
  // /db/request: through the log when any statement writes or level=strong.
  void Request(command::Request request, const ReadOptions& options, Done done);
  // /db/load with a SQLite image: validated, then replicated as one entry.
  void Load(std::string image, Done done);
  // /db/load with a SQL dump: all or nothing, replicated as one entry.
  void LoadDump(std::string sql, Done done);
  // /boot: single-node only; replaces the database without the log, then
  // snapshots so the log never needs the old content again.
  Status Boot(const std::string& image_path);

  enum class BackupFormat { kBinary, kDelete, kSql };
  // Writes a backup into a new file in the data dir's tmp/; returns its path.
  Result<std::string> Backup(BackupFormat format, bool vacuum, const std::vector<std::string>& tables);
  // A path in the data dir's tmp/ that no other caller gets (not created).
  std::string NewTempPath(std::string_view prefix);

  // Change data capture: replicates that the sink acknowledged every event
  // up to `index` (leader only; NotLeader otherwise). `done` runs once the
  // entry is applied here.
  void ProposeCdcHighWaterMark(LogIndex index, std::function<void(Status)> done);

  // Forces a snapshot now. false when nothing was applied since the last one.
  Result<bool> Snapshot(uint64_t trailing_entries);

  // /db/sql preview.
  std::vector<command::RewritePreview> PreviewSql(const command::Request& request,
                                                  const WriteOptions& options);

  // ---- membership (leader only; NotLeader otherwise) ----
  // Adds a node, or does nothing when it is already a member with the same
  // address and role; a changed address or role replaces the old entry.
  // `done` runs once the change is committed.
  void Join(const NodeId& id, const NodeAddress& address, bool voter, std::function<void(Status)> done);
  void Remove(const NodeId& id, std::function<void(Status)> done);
  // Hands leadership to `target` (empty: the most up-to-date other voter).
  // `done` reports whether the transfer started.
  void StepDown(const NodeId& target, std::function<void(Status)> done);
  // Where the current leader can be reached, when known.
  std::optional<NodeAddress> LeaderAddress() const;
  // -bootstrap-expect: makes this running node, which must not have heard of
  // any cluster yet, a member of a new one with exactly `voters`. Every node
  // given the same list writes the same entries, so any number of them may
  // do it (API.md 4.11). InvalidArgument when the node already has state.
  void BootstrapCluster(std::vector<std::pair<NodeId, NodeAddress>> voters, std::function<void(Status)> done);
  // -raft-remove-shutdown: `on_removed` runs (on the apply thread) once the
  // removal of this node from the cluster is applied. Set before Start().
  void SetOnRemoved(std::function<void()> on_removed) { on_removed_ = std::move(on_removed); }
  // The leader tells a node it removed (its own removal entry never reaches
  // it: the leader stops replicating to it once the change is appended).
  // `notify` runs after the removal commits. Set before Start().
  void SetOnMemberRemoved(std::function<void(const NodeId&, const NodeAddress&)> notify) {
    on_member_removed_ = std::move(notify);
  }
  // Linearizable reads on a follower: `ask` gets the read index from the
  // leader (node/ sends a kReadIndex forward); the follower then reads its
  // own file once it has applied that index. Unset, such reads go to the
  // leader whole. Set before Start().
  using ReadIndexAsk = std::function<void(std::chrono::nanoseconds timeout, std::function<void(Result<LogIndex>)>)>;
  void SetRemoteReadIndex(ReadIndexAsk ask) { remote_read_index_ = std::move(ask); }
  // Leader side of that: a read index confirmed by a quorum (NotLeader on a
  // follower).
  void LeaderReadIndex(std::function<void(Result<LogIndex>)> done);
  // A leader says this node was removed: runs the -raft-remove-shutdown hook.
  void OnRemovedByLeader();
  // Leader: proposes making a voter of the first learner that joined to be
  // one (NodeAddress::promote) and has caught up. One promotion at a time;
  // called periodically by the apply loop.
  void PromoteCaughtUpLearners();
  static constexpr uint64_t kPromotionLagMax = 256;  // entries behind the leader's last
  static constexpr std::chrono::seconds kJoinPromotionWait{10};  // under the joiner's 15 s RPC timeout
  static constexpr std::chrono::milliseconds kPromotionCheckInterval{50};
  // When each peer last sent this node anything (reaping, API.md 4.5).
  std::map<NodeId, std::chrono::steady_clock::time_point> LastContacts() const;

  // ---- snapshot transfer (see docs/snapshot_format.md) ----
  class SnapshotStream {
   public:
    virtual ~SnapshotStream() = default;
    virtual uint64_t total_bytes() const = 0;
    // Up to max_bytes next bytes into *out; empty at the end.
    virtual Status Read(size_t max_bytes, std::string* out) = 0;
  };
  class IncomingSnapshot {
   public:
    virtual ~IncomingSnapshot() = default;
    virtual Status Write(std::string_view chunk) = 0;
    // Verifies and durably records the snapshot as pending installation.
    virtual Status Finish() = 0;
    virtual void Abort() = 0;
  };
  // Leader side: the bytes of our last snapshot, which must be `meta`.
  Result<std::unique_ptr<SnapshotStream>> OpenSnapshotStream(const raft::SnapshotMeta& meta);
  // Follower side: where the leader's stream for `meta` goes.
  Result<std::unique_ptr<IncomingSnapshot>> BeginIncomingSnapshot(const raft::SnapshotMeta& meta);
  // Steps a message from a peer into the core.
  void Step(raft::Message message);
  // Steps messages that arrived together, in order; append requests and
  // responses may be stepped (and persisted) on the calling thread.
  void StepAll(std::vector<raft::Message> messages);
  // A joining node does not know the leader's address until the log tells
  // it; until then a message from an unknown node is taken to come from the
  // node the join request went to (the leader, or the leader it named).
  void SetJoinHint(const std::string& raft_addr);
  // Where node `id` is, learned outside the log (a -bootstrap-expect NOTIFY);
  // ignored when the node's address is already known.
  void LearnAddress(const NodeId& id, const NodeAddress& address);
  void ReportSnapshot(const NodeId& peer, bool ok) { raft_node_->ReportSnapshot(peer, ok); }
  void ReportUnreachable(const NodeId& peer) { raft_node_->ReportUnreachable(peer); }

  StoreStatus status() const;
  bool is_leader() const { return raft_node_->is_leader(); }
  // True when the log holds any entry (before Start: what recovery found).
  bool has_log() const { return log_->last_index() > LogIndex(0); }
  NodeId leader_id() const { return raft_node_->state().leader; }
  const StoreOptions& options() const { return options_; }
  const DataPaths& paths() const { return paths_; }
  // Entries an automatic snapshot leaves in the log (rqlite's trailing
  // logs: 1.25 times -raft-snap), so a follower slightly behind still
  // catches up from the log rather than from a snapshot.
  uint64_t trailing_entries() const { return options_.snapshot_entries + options_.snapshot_entries / 4; }
  db::Database* database() { return db_.get(); }
  const NodeDirectory& directory() const { return directory_; }

  // Applier: committed entries from the Raft loop.
  void Enqueue(std::vector<raft::Entry> entries) override;
  void InstallSnapshot(const raft::SnapshotMeta& meta) override;

  // Blocks until applied >= index or the deadline passes (tests, /readyz?sync).
  bool WaitForApplied(LogIndex index, std::chrono::steady_clock::time_point deadline);

 private:
  explicit Store(const StoreOptions& options);
  Status Recover();
  Status LearnAddressesFromLog();
  void Propose(command::Command command, Done done);
  // Leader check, PRAGMA guard and rewriting, then Propose.
  void ProposeRequest(command::CommandType type, command::Request request, const WriteOptions& options, Done done);
  void RunRead(command::Request request, Done done);
  // Runs the read once `index` is applied; answers "stale read" instead if
  // that has not happened by `stale_after`.
  void ReadAfterIndex(command::Request request, LogIndex index, Done done,
                      std::chrono::steady_clock::time_point stale_after = std::chrono::steady_clock::time_point::max(),
                      std::string stale_error = "stale read");
  void ExpireStaleReads(std::chrono::steady_clock::time_point now);
  // Query once sync_index (if any) is applied.
  void QueryAtLevel(command::Request request, const ReadOptions& options, Done done);

  // Apply thread.
  void ApplyLoop();
  // Applies `entries` in order, consecutive plain writes sharing one SQLite
  // transaction (ApplyGroup); stops early once the database is abandoned.
  void ApplyEntries(std::span<const raft::Entry> entries);
  // The entry's command when it may share a transaction with its
  // neighbours (db::CanShareTransaction), else nullopt.
  std::optional<command::Command> ShareableCommand(const raft::Entry& entry, LogIndex applied) const;
  // Consecutive entries whose `commands` are shareable, in one transaction
  // (db::Database::ExecuteGroup): the applied index moves past them all at
  // its commit, and only then are their writers answered. An entry that
  // would fare differently in the group (db::Database::ExecuteGroup) is
  // applied alone, the others around it still grouped. False when the
  // database was abandoned.
  bool ApplyGroup(std::span<const raft::Entry> entries, std::span<command::Command> commands);
  // A group ends at this many entries or statements: a write waits for the
  // whole group's commit, so big batches are left to themselves.
  static constexpr size_t kGroupEntriesMax = 128;
  static constexpr size_t kGroupStatementsMax = 256;
  static constexpr size_t kGroupEntryBytesMax = 64 * 1024;
  // False when the database was abandoned (Stop): the entry is not applied
  // and nothing after it may be. `decoded`: the entry's command, if the
  // caller decoded it already.
  bool ApplyEntry(const raft::Entry& entry, std::optional<command::Command> decoded = std::nullopt);
  // *changed_database: whether the entry was one that writes (a write or a
  // load, whatever its statements' outcome).
  std::optional<command::Response> ApplyCommand(const raft::Entry& entry, command::Command& command,
                                                bool* changed_database);
  void CompletePending(const raft::Entry& entry, std::optional<command::Response> response);
  void ExpirePending(std::chrono::steady_clock::time_point now);
  void MaybeSnapshot(bool forced, uint64_t trailing_entries, std::function<void(Result<bool>)> done);
  // CaptureSnapshot, counted (store.num_snapshots...).
  Status TakeSnapshot(uint64_t trailing_entries);
  // Checkpoints the database as of the applied index, then compacts the log.
  Status CaptureSnapshot(uint64_t trailing_entries);
  // Steps 1-4 of the protocol in snapshot_meta.h for `record`: afterwards
  // db.sqlite alone is the state at record.meta.index.
  Status CheckpointAs(const SnapshotRecord& record);
  // Replaces the database with a received snapshot (apply thread, Recover);
  // RestoreFrom, counted (store.num_restores...).
  Status InstallReceived(const SnapshotRecord& record);
  Status RestoreFrom(const SnapshotRecord& record);
  Status RecoverPendingInstall();
  // Lost-quorum recovery (API.md 4.5): applies the whole log, then makes a
  // snapshot whose membership is the one in raft/peers.json.
  Status RecoverFromPeersFile();
  void ProposeMembership(raft::ConfigChange change, std::function<void(Status)> done);
  void ProposeMembershipUntil(raft::ConfigChange change, std::function<void(Status)> done,
                              std::chrono::steady_clock::time_point deadline);
  void UpdatePeers(const raft::Membership& membership);
  // Stamps the sender's last contact and, while joining, learns its address.
  void NotePeerMessage(const raft::Message& message);
  void RunApplyWaiters();

  struct Pending {
    Term term;
    Done done;
    std::chrono::steady_clock::time_point deadline;
  };
  // Tracks the write appended at `index`; one left there by an older term
  // is answered UnknownOutcome.
  void RegisterPending(LogIndex index, Pending pending);
  struct SnapshotTask {
    uint64_t trailing_entries;
    std::function<void(Result<bool>)> done;
  };
  struct BootTask {
    std::string path;
    std::function<void(Status)> done;
  };
  struct InstallTask {
    raft::SnapshotMeta meta;
  };
  using ApplyItem = std::variant<std::vector<raft::Entry>, SnapshotTask, BootTask, InstallTask>;

  StoreOptions options_;
  DataPaths paths_;
  env::FileSystem* fs_;
  std::unique_ptr<raft::Logger> raft_logger_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<WalLogStorage> log_;
  std::unique_ptr<NullTransport> null_transport_;
  Transport* transport_ = nullptr;
  std::mutex peers_mutex_;  // serializes UpdatePeers
  std::mutex join_hint_mutex_;
  std::string join_hint_;  // GUARDED_BY(join_hint_mutex_)
  // Held shared while a snapshot's file is streamed to a peer, exclusive while
  // the main file changes (checkpoint, install).
  std::shared_mutex snapshot_file_mutex_;
  std::unique_ptr<RaftNode> raft_node_;
  std::unique_ptr<ReadPool> read_pool_;
  NodeDirectory directory_;

  std::mutex random_mutex_;
  Random random_;  // GUARDED_BY(random_mutex_): rewriting RANDOM()
  command::ProcessedTexts processed_texts_;  // GUARDED_BY(random_mutex_): texts Process leaves alone

  std::mutex pending_mutex_;
  std::map<LogIndex, Pending> pending_;  // GUARDED_BY(pending_mutex_)

  mutable std::mutex apply_mutex_;
  std::condition_variable apply_wake_;
  std::condition_variable applied_changed_;
  std::deque<ApplyItem> apply_queue_;  // GUARDED_BY(apply_mutex_)
  // Automatic VACUUM / optimize; apply thread only after Open.
  std::optional<MaintenanceSchedule> maintenance_;
  void RunDueMaintenance();
  bool apply_stopping_ = false;        // GUARDED_BY(apply_mutex_)
  bool apply_exited_ = false;          // GUARDED_BY(apply_mutex_)
  std::condition_variable apply_exit_;
  LogIndex applied_;                   // GUARDED_BY(apply_mutex_)
  std::multimap<LogIndex, std::function<void()>> apply_waiters_;  // GUARDED_BY(apply_mutex_)
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>>
      stale_deadlines_;  // GUARDED_BY(apply_mutex_)
  // Reads waiting for ?sync_index, by that index; bounded (kSyncReadsMax),
  // each answered once: when its index is applied, at its deadline, or at Stop.
  struct SyncRead {
    command::Request request;
    ReadOptions options;
    Done done;
    std::chrono::steady_clock::time_point deadline;
  };
  std::multimap<LogIndex, SyncRead> sync_reads_;  // GUARDED_BY(apply_mutex_)
  // Takes the sync reads due (index applied, or deadline passed at `now`).
  // REQUIRES: apply_mutex_ held.
  std::vector<SyncRead> TakeDueSyncReads(std::chrono::steady_clock::time_point now);
  // Runs each read whose index is applied; answers the others' timeout.
  void AnswerSyncReads(std::vector<SyncRead> reads);
  SnapshotRecord snapshot_;            // GUARDED_BY(apply_mutex_)
  uint64_t snapshots_taken_ = 0;       // GUARDED_BY(apply_mutex_)
  Term applied_term_;                  // GUARDED_BY(apply_mutex_) (written by the apply thread)
  std::optional<std::chrono::system_clock::time_point> applied_at_;  // GUARDED_BY(apply_mutex_)
  LogIndex db_applied_;                // GUARDED_BY(apply_mutex_)

  std::function<void()> on_removed_;
  std::atomic<bool> promotion_in_flight_{false};
  // Raft thread only (PromoteCaughtUpLearners): per waiting learner, the
  // term and last index when this leader first saw it waiting.
  std::map<NodeId, std::pair<Term, LogIndex>> promotion_targets_;
  // A learner waits to be promoted (or a joiner for its answer): the apply
  // loop then checks every kPromotionCheckInterval rather than once a second.
  std::atomic<bool> promotion_wanted_{true};
  std::chrono::steady_clock::time_point last_promotion_check_{};  // apply thread
  struct JoinWaiter {
    NodeId id;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Status)> done;
  };
  std::mutex join_waiters_mutex_;
  std::vector<JoinWaiter> join_waiters_;  // GUARDED_BY(join_waiters_mutex_)
  ReadIndexAsk remote_read_index_;
  // Follower reads share read-index requests: one in flight at a time, and
  // the reads that arrive meanwhile ride on the next (each needs a read
  // index asked for after it arrived, not before).
  using ReadIndexBatch = std::vector<std::pair<std::chrono::nanoseconds, std::function<void(Result<LogIndex>)>>>;
  void AskReadIndex(std::chrono::nanoseconds timeout, std::function<void(Result<LogIndex>)> done);
  void SendReadIndexAsk(std::chrono::nanoseconds timeout, ReadIndexBatch batch);
  std::mutex read_index_mutex_;
  bool read_index_in_flight_ = false;          // GUARDED_BY(read_index_mutex_)
  ReadIndexBatch read_index_waiting_;          // GUARDED_BY(read_index_mutex_)
  std::chrono::nanoseconds read_index_waiting_timeout_{std::chrono::hours(24)};  // GUARDED_BY(read_index_mutex_)
  std::function<void(const NodeId&, const NodeAddress&)> on_member_removed_;
  mutable std::mutex contact_mutex_;
  std::map<NodeId, std::chrono::steady_clock::time_point> last_contact_;  // GUARDED_BY(contact_mutex_)

  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::thread apply_thread_;
};

}  // namespace rq::store
