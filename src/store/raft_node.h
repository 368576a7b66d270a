// RaftNode: runs the Raft core on its own thread (DESIGN.md section 6).
//
// Every input (proposals, peer messages, read requests, compaction) is posted
// to a bounded inbox and executed by whoever holds the core (core_mutex_):
// normally the loop thread, which also ticks the core and processes each
// Ready: persist (through LogPersister, one fsync per Ready, so every
// proposal that arrived meanwhile shares it: group commit), send
// (Transport), then Advance. StepOnCaller lets the transport's I/O thread
// run a round itself when the core is free, so a replication message costs
// no thread handoff on the follower (persist and answer) or on the leader
// (commit). Two things may go ahead of the fsync
// because they never depend on it: a leader's appends (the core counts its
// own copy only after Advance) and the committed entries, which a quorum
// holds already (handed to the Applier first, except with a received
// snapshot, which keeps install-then-apply after persisting). A leader also
// holds back commit-only heartbeats to followers that were sent every entry,
// for at most Options::commit_notice_delay: the next append or tick
// heartbeat usually carries the commit index first (ProcessReady).
//
// Thread-safety: the public methods are safe from any thread; callbacks run
// with the core held (on the loop thread or inside StepOnCaller), one at a
// time, and must not block.
#pragma once

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "raft/raft.h"

namespace rq::store {

// Writes a Ready's hard state, entries and snapshot durably (fsync) and
// updates the LogStorage the core reads. A failure is fatal for the node.
class LogPersister {
 public:
  virtual ~LogPersister() = default;
  virtual Status Persist(const raft::Ready& ready) = 0;
  virtual raft::LogStorage* storage() = 0;
};

// Sends messages to peers; never blocks the loop.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void Send(std::vector<raft::Message> messages) = 0;
  // The current members other than this node, with their Raft addresses.
  virtual void SetPeers(std::map<NodeId, std::string> raft_addresses) {}
};

// Receives committed entries in order; never blocks the loop for long.
class Applier {
 public:
  virtual ~Applier() = default;
  virtual void Enqueue(std::vector<raft::Entry> entries) = 0;
  // A snapshot received from the leader replaces the state machine; ordered
  // before the committed entries of the same Ready.
  virtual void InstallSnapshot(const raft::SnapshotMeta& meta) = 0;
};

struct NodeState {
  raft::Role role = raft::Role::kFollower;
  Term term;
  NodeId leader;
  LogIndex commit;
  LogIndex last_index;
  Term last_term;  // of the entry at last_index
  raft::Membership membership;
};

class RaftNode {
 public:
  struct Options {
    raft::Config raft;
    std::chrono::milliseconds tick{100};
    // How long a leader may hold back a commit-only heartbeat to a follower
    // that was sent every entry, waiting for an append to carry the commit
    // index instead; bounds how far such a follower's applied state lags.
    std::chrono::milliseconds commit_notice_delay{10};
    size_t inbox_capacity = 1 << 16;
    uint64_t seed = 0;  // election jitter
  };

  // Pointers must outlive the node.
  RaftNode(const Options& options, LogPersister* persister, Transport* transport, Applier* applier,
           raft::Logger* logger);
  ~RaftNode();
  RaftNode(const RaftNode&) = delete;
  RaftNode& operator=(const RaftNode&) = delete;

  // Before Start(): a brand-new cluster with these members (each change's
  // context carries the member's addresses).
  Status Bootstrap(const std::vector<raft::ConfigChange>& members);

  // Before Start(): called on the loop thread after each Ready is persisted,
  // with the entries just appended and the membership if it changed.
  using PersistObserver =
      std::function<void(const std::vector<raft::Entry>&, const std::optional<raft::Membership>&)>;
  void SetPersistObserver(PersistObserver observer) { persist_observer_ = std::move(observer); }
  void Start();
  void Stop();

  // The callback learns where the entry landed (index and term), or why not
  // (NotLeader, Busy). It runs on the loop thread before the entry can be
  // committed, so registering the index there is race-free.
  using Appended = std::function<void(Result<std::pair<LogIndex, Term>>)>;
  void Propose(std::string data, Appended on_appended);
  void ProposeConfigChange(raft::ConfigChange change, Appended on_appended);

  // ReadIndex: the callback gets the index to wait for, or NotLeader.
  void ReadIndex(std::function<void(Result<LogIndex>)> on_confirmed);

  void Step(raft::Message message);
  // Steps `messages` in order, on this thread when no one holds the core
  // (persisting and sending the resulting Ready here), else hands them to
  // the loop. Append requests and responses only: the latency-critical
  // replication path. May block for an fsync; never waits for the loop.
  void StepOnCaller(std::vector<raft::Message> messages);
  void Campaign();
  void TransferLeadership(NodeId target, std::function<void(Status)> done);
  void ReportSnapshot(NodeId peer, bool success);
  void ReportUnreachable(NodeId peer);
  // After the state machine has durably captured `index`.
  void Compact(LogIndex index, uint64_t trailing_entries, std::function<void(Status)> done);

  // Runs `fn` on the loop thread with the core (for tests and rare admin).
  // False (and `fn` never runs) when the node is stopping.
  bool Post(std::function<void(raft::Raft&)> fn);

  // Waits (up to 10 s) until the loop thread sleeps with nothing queued:
  // the core is then free for StepOnCaller.
  bool TEST_WaitUntilLoopSleeps() const;

  NodeState state() const;
  bool is_leader() const;
  // When this node last heard from the leader (a leader: now). For the
  // freshness bound of level=none reads on followers.
  std::chrono::steady_clock::time_point last_leader_contact() const;

 private:
  // Whether a Ready holds the effects of a Tick (heartbeats) or only of
  // inputs (proposals, messages).
  enum class ReadyOrigin { kInputs, kTick };

  using Clock = std::chrono::steady_clock;
  void Run();
  // One round with the core held: the inbox, then the Readies; with_tick
  // also ticks (the loop thread only). False when stopping: nothing ran.
  bool RunRound(std::unique_lock<std::mutex>& core, bool with_tick);
  Clock::time_point NextWakeup() const;
  void ProcessReady(ReadyOrigin origin);
  static bool IsCommitNotice(const raft::Message& message, LogIndex last_index);
  void FlushHeldNotices();
  void HandleSoftState(const raft::SoftState& soft);
  void FailPendingReads(const Status& status);
  bool Enqueue(std::function<void(raft::Raft&)> fn);
  void StepNow(raft::Raft& raft, const raft::Message& message);
  void PublishState();

  Options options_;
  LogPersister* persister_;
  Transport* transport_;
  Applier* applier_;
  Random random_;
  std::unique_ptr<raft::Raft> raft_;

  // Lock order: core_mutex_, then mutex_.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void(raft::Raft&)>> inbox_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                                // GUARDED_BY(mutex_)
  NodeState state_;                                      // GUARDED_BY(mutex_)
  // When the waiting loop thread must wake at the latest (next tick, held
  // notices); a round on another thread moves it earlier.
  Clock::time_point loop_deadline_ = Clock::time_point::max();  // GUARDED_BY(mutex_)

  PersistObserver persist_observer_;

  // Whoever runs the core holds this: the loop thread or StepOnCaller.
  std::mutex core_mutex_;
  // GUARDED_BY(core_mutex_) from here on.
  Clock::time_point next_tick_;
  uint64_t next_read_id_ = 1;
  std::map<uint64_t, std::function<void(Result<LogIndex>)>> pending_reads_;
  raft::Role role_ = raft::Role::kFollower;
  NodeId observed_leader_;  // the leader the last soft state named
  Term election_term_;      // the last term this node stood as a candidate in
  // Commit notices held back, the newest per follower; each is newer than
  // anything else sent to that follower (a sent append drops it).
  std::map<NodeId, raft::Message> held_notices_;
  Clock::time_point held_deadline_;

  std::atomic<int64_t> last_leader_contact_ns_{0};  // steady_clock epoch
  std::thread thread_;
};

}  // namespace rq::store
