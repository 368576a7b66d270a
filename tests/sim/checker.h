// Checker: the simulator's safety oracle. The cluster reports what it
// observes (roles, terms, appends, applies, snapshots, reads) and the checker
// compares each observation with everything seen before in the run:
//   - at most one leader per term (the term -> leader history of the run);
//   - terms never decrease on a node; commit never exceeds the last index;
//   - log matching: one (index, term) names one entry, with one previous term;
//   - state machine safety: one entry per index across all nodes and
//     incarnations, applied consecutively; snapshots match the applied chain;
//   - leader completeness / no lost commit: a leader elected after an entry
//     was committed holds it;
//   - ReadIndex linearizability against the register model.
// The first violation is kept (later ones are usually its echoes).
//
// Ownership: one per simulated run. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "base/strong_types.h"
#include "raft/log_storage.h"
#include "raft/types.h"
#include "sim/kv_model.h"

namespace rq::sim {

class Checker {
 public:
  bool ok() const { return violation_.empty(); }
  const std::string& violation() const { return violation_; }

  // After every step, per live node.
  void ObserveNode(const NodeId& node, raft::Role role, Term term, LogIndex commit,
                   LogIndex last_index);
  // A node restarted from durable state: its term may be below the in-memory
  // term it had before the crash (unsynced), never below `durable_term`.
  void ObserveRestart(const NodeId& node, Term durable_term, Term recovered_term);

  // An entry written to a node's log right after an entry (or snapshot) of
  // term `previous_term`.
  void ObserveAppend(const NodeId& node, const raft::Entry& entry, Term previous_term);

  // `applied_before` is the node's applied index before this entry.
  void ObserveApply(const NodeId& node, LogIndex applied_before, const raft::Entry& entry,
                    uint64_t chain_after);
  void ObserveSnapshot(const NodeId& node, LogIndex index, uint64_t chain);

  // A node that believes it leads `term` holds `log`.
  void ObserveLeaderLog(const NodeId& node, Term term, const raft::LogStorage& log);

  // Client side of the register model.
  void ObserveAck(LogIndex index, const std::string& key);
  void ObserveReadIssued(uint64_t read_id, const std::string& key);
  // The read is answered from a state machine that applied `applied` and
  // holds `state` for the key (nullopt: never written).
  void ObserveReadServed(uint64_t read_id, LogIndex read_index, LogIndex applied,
                         const std::optional<KeyState>& state);

  // Records a violation found by the cluster itself (e.g. a wrong status).
  void Fail(std::string what);

  size_t committed_count() const { return committed_.size(); }
  uint64_t reads_served() const { return reads_served_; }
  Term max_term() const { return max_term_; }

 private:
  struct Committed {
    Term term;
    uint64_t chain = 0;       // chain value after applying this entry
    uint64_t entry_hash = 0;
    Term term_bound;          // the highest term anyone had when first applied
  };
  struct Appended {
    uint64_t entry_hash = 0;
    Term previous_term;
  };
  struct PendingRead {
    std::string key;
    LogIndex acked_max;      // every acknowledged write is at or below this
    LogIndex key_acked_max;  // the last acknowledged write of `key`
  };

  std::map<Term, NodeId> leaders_;
  std::map<NodeId, Term> terms_;
  std::map<std::pair<LogIndex, Term>, Appended> appended_;
  std::map<LogIndex, Committed> committed_;
  std::map<uint64_t, PendingRead> reads_;
  std::map<std::string, LogIndex> key_acked_;
  LogIndex acked_max_;
  Term max_term_;
  uint64_t reads_served_ = 0;
  std::string violation_;
};

}  // namespace rq::sim
