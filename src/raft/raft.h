// The Raft core: a deterministic state machine with no I/O, no threads and no
// clock (DESIGN.md section 3; the model is etcd's RawNode and Scylla's fsm).
//
// Inputs: Step(message), Tick(), Propose(), ProposeConfigChange(),
// ReadIndex(), TransferLeadership(), ReportSnapshot(), Compact().
// Output: Ready(), a batch of effects the driver performs in this order:
//   1. persist hard_state, entries (which may overwrite a suffix starting at
//      entries.front().index) and snapshot, with fsync;
//   2. send messages;
//   3. apply committed entries (and install `snapshot` first if set);
//   4. call Advance(ready).
// At most one Ready is outstanding: after GetReady(), HasReady() is false until
// Advance(). Step/Tick/Propose/... may be called in between (e.g. while the
// driver's log writer persists); their effects come out in the next Ready.
// Identical inputs give identical outputs; election jitter comes from the
// injected Random.
//
// Thread-safety: none. One owner thread (the store's raft loop) calls all
// methods.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/status.h"
#include "base/strong_types.h"
#include "raft/log_storage.h"
#include "raft/logger.h"
#include "raft/types.h"

namespace rq::raft {

struct Config {
  NodeId id;
  // Ticks without hearing a leader before campaigning; the real timeout is
  // drawn uniformly from [election_ticks, 2 * election_ticks).
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  bool pre_vote = true;       // §9.6
  bool check_quorum = true;   // §6.2: a leader that cannot hear a quorum for
                              // lease_ticks steps down; followers ignore
                              // votes while they hear a leader (stickiness).
  // The leader lease of check_quorum (-raft-leader-lease-timeout); 0 means
  // election_ticks. At most election_ticks (the leader must give up before
  // the others can elect another), more than heartbeat_ticks.
  uint32_t lease_ticks = 0;
  uint32_t max_inflight_appends = 256;         // pipelined AppendRequests per peer
  uint64_t max_append_bytes = 1 << 20;         // entry bytes per AppendRequest
  uint64_t max_uncommitted_bytes = 64 << 20;   // leader refuses proposals beyond this
  uint64_t max_committed_bytes_per_ready = 8 << 20;  // apply batch size bound
  uint32_t max_pending_reads = 4096;           // ReadIndex requests awaiting a quorum
  // On restart: the index the state machine has applied (at least the
  // snapshot's); committed entries after it come out in Ready.
  LogIndex applied;

  Status Validate() const;
};

// What changed in the role / leader since the last Ready.
struct SoftState {
  Role role = Role::kFollower;
  NodeId leader;  // empty when unknown
  bool operator==(const SoftState&) const = default;
};

struct Ready {
  std::optional<SoftState> soft_state;     // set when changed
  std::optional<HardState> hard_state;     // set when changed; persist
  std::vector<Entry> entries;              // persist (then they are stable)
  std::optional<SnapshotMeta> snapshot;    // a received snapshot to install
  std::vector<Message> messages;           // send after persisting
  std::vector<Entry> committed_entries;    // apply in order
  std::vector<ReadState> read_states;      // confirmed ReadIndex requests
  // Membership after the last config change in `committed_entries` (or after
  // `snapshot`), for the driver's peer table.
  std::optional<Membership> membership;

  bool empty() const;
};

class Raft {
 public:
  // `storage` holds the stable log and snapshot metadata (read-only to the
  // core; the driver writes it). On restart it reports the recovered state.
  // `random` and `logger` must outlive the Raft.
  // REQUIRES: config.Validate().ok().
  Raft(const Config& config, LogStorage* storage, Random* random, Logger* logger);
  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Starts a brand-new cluster: appends one committed kConfigChange entry per
  // member at indexes 1..n, term 1 (voters then learners, sorted), so that
  // nodes that join later learn the initial membership from the log. Every
  // bootstrapping node must pass the same membership. The entries come out in
  // Ready as entries to persist and committed entries to apply.
  // REQUIRES: the storage is empty (InvalidArgument otherwise).
  Status Bootstrap(const Membership& membership);
  // The same with explicit changes (kAddVoter/kAddLearner), so each entry can
  // carry the member's context (its address).
  Status Bootstrap(const std::vector<ConfigChange>& members);

  void Tick();
  // Messages from other nodes. Stale or malformed ones are dropped.
  void Step(const Message& message);

  // Leader only. Returns the index the entry will have, NotLeader (whose
  // message is the known leader's id, empty if none) or Busy (uncommitted
  // bytes over the limit, or a leadership transfer in progress). The entry
  // may still be lost if leadership changes: the driver learns its fate by
  // watching which (index, term) comes out in committed_entries.
  Result<LogIndex> Propose(std::string data);
  // One change at a time: Busy while a previous change is uncommitted (§4.1)
  // and until the leader has committed an entry of its own term (the noop);
  // InvalidArgument for a no-op change (adding a voter twice, removing a
  // non-member) or removing the last voter. The membership changes on every
  // node as soon as the entry is appended; a removed leader steps down once
  // the removal commits.
  Result<LogIndex> ProposeConfigChange(const ConfigChange& change);

  // §6.4 ReadIndex. The read_id comes back in Ready::read_states once the
  // leader has confirmed it is still leader; NotLeader otherwise. A leader
  // that has not committed an entry of its term yet answers only after that
  // entry commits. Busy beyond max_pending_reads. Reads still pending when
  // the node stops being leader are dropped: the driver fails them when
  // Ready::soft_state shows the role change.
  Status ReadIndex(uint64_t read_id);

  // §3.10. Leader only; the target must be a voter.
  Status TransferLeadership(const NodeId& target);
  // Starts an election now (used for single-node bootstrap and tests).
  void Campaign();

  // The driver finished (or failed) streaming a snapshot to `peer`. The
  // leader sends nothing more to a peer in snapshot state until this is
  // called (or the peer acknowledges the snapshot), so the driver must report
  // failures too, including a stream it could not start.
  void ReportSnapshot(const NodeId& peer, bool success);
  // The driver could not reach `peer`; the leader falls back to probing.
  void ReportUnreachable(const NodeId& peer);

  // The meta describing a snapshot of the state machine at `index` (its term
  // and the membership as of index). NotFound if index is compacted or beyond
  // the applied index.
  Result<SnapshotMeta> SnapshotMetaFor(LogIndex index) const;

  // Snapshot/compaction protocol (see log_storage.h): the driver's state
  // machine captured everything up to `index`; the driver stores the snapshot
  // bytes and calls storage.CreateSnapshot(SnapshotMetaFor(index),
  // index - trailing_entries), then Compact(index, trailing_entries). The core
  // checks the request and from then on serves storage.snapshot() to
  // followers whose next entry is compacted. InvalidArgument when
  // index > applied or the storage has no snapshot at index.
  Status Compact(LogIndex index, uint64_t trailing_entries);

  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);

  // Introspection for status pages and tests.
  const NodeId& id() const;
  Role role() const;
  Term term() const;
  NodeId leader() const;
  LogIndex commit_index() const;
  LogIndex applied_index() const;
  LogIndex last_index() const;
  Term last_term() const;  // of the entry at last_index()
  const Membership& membership() const;
  // Leader only: the match index of every peer (for /nodes and lag stats).
  std::vector<std::pair<NodeId, LogIndex>> progress() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rq::raft
