// Cluster: N simulated nodes, each a raft::Raft driven by the Ready contract
// over a simulated disk, joined by a simulated network, on one logical clock.
// Every primitive (tick, deliver, sync, crash, restart, partition, propose,
// read, membership change, transfer, compact) is one "step"; Check() runs the
// safety checkers after a step. Nothing here reads a clock or iterates an
// unordered container, so a seed replays exactly.
//
// Disk model: a Ready's snapshot, entries and hard state are written to the
// node's live log at once but become durable only at Sync(); until then the
// node is blocked (it sends nothing and takes no input), as a store blocked in
// fsync would be. A crash keeps a random prefix of the unsynced writes (a torn
// tail) when tearing is on, else none of them.
//
// Ownership: owns its nodes and messages. Thread-safety: none (one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "base/strong_types.h"
#include "raft/log_storage.h"
#include "raft/logger.h"
#include "raft/raft.h"
#include "sim/checker.h"
#include "sim/kv_model.h"

namespace rq::sim {

struct Faults {
  uint32_t drop_per_mille = 0;       // message loss
  uint32_t duplicate_per_mille = 0;  // message sent twice
  uint32_t delay_ticks_max = 0;      // delivery delay, uniform in [0, max]
  uint32_t sync_delay_per_mille = 0; // a Ready waits for a separate Sync step
  bool tear_on_crash = false;        // a crash keeps a prefix of unsynced writes
};

struct ClusterOptions {
  uint64_t seed = 1;
  uint32_t voters = 3;   // bootstrapped members n1..nV
  uint32_t spares = 0;   // extra nodes, not members until added
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  bool check_quorum = true;
  // Flow-control limits, small to exercise pipelining, batching and Busy.
  uint32_t max_inflight_appends = 256;
  uint64_t max_append_bytes = 1 << 20;
  uint64_t max_uncommitted_bytes = 64 << 20;
  uint64_t max_committed_bytes_per_ready = 8 << 20;
  // Inputs (messages, ticks, proposals) reach a node whose Ready is still
  // being persisted, instead of waiting for its Sync.
  bool async_inputs = false;
  bool verbose = false;
  bool count_events = false;  // fill event_counts() (slower)
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  size_t size() const { return nodes_.size(); }
  uint64_t now() const { return now_; }
  uint64_t steps() const { return steps_; }
  Faults& faults() { return faults_; }
  Checker& checker() { return checker_; }
  Random& random() { return random_; }

  // ---- Steps. Each counts as one step and is followed by Check(). ----
  void TickAll();
  // One node's clock runs ahead (drift): only it ticks; global time stays.
  void TickOne(size_t node);
  // Delivers the pick-th deliverable message (pick < DeliverableCount()).
  void Deliver(size_t pick);
  size_t DeliverableCount() const;
  void Sync(size_t node);
  void Crash(size_t node);
  void Restart(size_t node);
  // One-way link from -> to.
  void SetLink(size_t from, size_t to, bool up);
  void Isolate(size_t node);
  void HealNetwork();
  Status Propose(size_t node, const std::string& key, bool increment);
  Status ReadIndex(size_t node, const std::string& key);
  Status ChangeMembership(size_t node, const raft::ConfigChange& change);
  Status TransferLeadership(size_t node, size_t target);
  Status Compact(size_t node, uint64_t trailing_entries);

  // ---- Convenience for tests and the liveness phase. ----
  // Delivers everything deliverable and syncs every blocked node, then ticks;
  // `ticks` times.
  void Stabilize(uint32_t ticks);
  void DrainNetwork();
  // The up node that leads the highest term, if any.
  std::optional<size_t> Leader() const;

  // ---- Introspection. ----
  bool IsUp(size_t node) const;
  bool IsBlocked(size_t node) const;
  bool IsPartitioned() const;
  const NodeId& Id(size_t node) const;
  const raft::Raft* Core(size_t node) const;  // nullptr when down
  const KvModel& Model(size_t node) const;
  uint64_t acks() const { return acks_; }
  // How often each event happened ("tick", "InstallSnap", "crash", ...).
  const std::map<std::string, uint64_t>& event_counts() const { return event_counts_; }
  size_t blocked_count() const;
  std::vector<size_t> DownNodes() const;
  // One status line per node and the last events, for a violation report.
  std::string Report(size_t events) const;

  // Test-only: the next entry `node` applies has its data altered, so the
  // state machine checker must fire.
  void TEST_CorruptNextApply(size_t node) { corrupt_next_apply_ = node; }
  // Test-only: snapshots stay in flight (a slow stream) while held.
  void TEST_HoldSnapshots(bool hold) { hold_snapshots_ = hold; }

 private:
  struct Node;
  struct InFlight;
  struct Event;

  void Step(const char* what, int node, int peer, uint64_t a, uint64_t b);
  void Check();
  void ProcessReady(Node& node);
  void WriteReady(Node& node, const raft::Ready& ready);
  void FinishReady(Node& node);
  void ApplyEntry(Node& node, const raft::Entry& entry);
  void InstallSnapshot(Node& node, const raft::SnapshotMeta& meta);
  void ServeReads(Node& node);
  void Send(Node& from, const raft::Message& message);
  bool CanDeliver(const InFlight& flight) const;
  bool TakesInput(const Node& node) const;
  void StartNode(Node& node);
  size_t NodeIndex(const NodeId& id) const;

  ClusterOptions options_;
  Faults faults_;
  Random random_;
  Checker checker_;
  std::unique_ptr<raft::Logger> logger_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<InFlight> network_;
  std::vector<std::vector<bool>> link_up_;  // [from][to]
  std::vector<Event> events_;               // ring buffer
  uint64_t now_ = 0;
  uint64_t steps_ = 0;
  uint64_t next_read_id_ = 1;
  int64_t next_value_ = 1;
  uint64_t acks_ = 0;
  std::optional<size_t> corrupt_next_apply_;
  bool hold_snapshots_ = false;
  std::map<std::string, uint64_t> event_counts_;
  bool count_events_ = false;
};

}  // namespace rq::sim
