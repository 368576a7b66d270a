// Checker: each Observe* compares one observation with the run's history.
#include "sim/checker.h"

#include <sstream>

namespace rq::sim {
namespace {

template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace

void Checker::Fail(std::string what) {
  if (violation_.empty()) violation_ = std::move(what);
}

void Checker::ObserveNode(const NodeId& node, raft::Role role, Term term, LogIndex commit,
                          LogIndex last_index) {
  if (term > max_term_) max_term_ = term;
  auto [it, inserted] = terms_.try_emplace(node, term);
  if (!inserted) {
    if (term < it->second) Fail(Cat("term decreased on ", node, ": ", it->second, " -> ", term));
    it->second = term;
  }
  if (commit > last_index) {
    Fail(Cat("commit ", commit, " beyond last index ", last_index, " on ", node));
  }
  if (role != raft::Role::kLeader) return;
  auto [leader, fresh] = leaders_.try_emplace(term, node);
  if (!fresh && leader->second != node) {
    Fail(Cat("two leaders in term ", term, ": ", leader->second, " and ", node));
  }
}

void Checker::ObserveRestart(const NodeId& node, Term durable_term, Term recovered_term) {
  if (recovered_term < durable_term) {
    Fail(Cat("restart of ", node, " lost its durable term ", durable_term, " (got ",
             recovered_term, ")"));
  }
  terms_[node] = recovered_term;
}

void Checker::ObserveAppend(const NodeId& node, const raft::Entry& entry, Term previous_term) {
  Appended seen{KvModel::ChainStep(0, entry), previous_term};
  auto [it, inserted] = appended_.try_emplace({entry.index, entry.term}, seen);
  if (inserted) return;
  if (it->second.entry_hash != seen.entry_hash) {
    Fail(Cat("log matching: two entries at index ", entry.index, " term ", entry.term,
             " (seen on ", node, ")"));
  } else if (it->second.previous_term != previous_term) {
    Fail(Cat("log matching: entry ", entry.index, "/", entry.term, " on ", node,
             " follows term ", previous_term, ", elsewhere term ", it->second.previous_term));
  }
}

void Checker::ObserveApply(const NodeId& node, LogIndex applied_before, const raft::Entry& entry,
                           uint64_t chain_after) {
  if (entry.index != applied_before + 1) {
    Fail(Cat(node, " applied index ", entry.index, " after ", applied_before,
             " (not consecutive)"));
    return;
  }
  Committed seen{entry.term, chain_after, KvModel::ChainStep(0, entry), max_term_};
  auto [it, inserted] = committed_.try_emplace(entry.index, seen);
  if (inserted) return;
  if (it->second.entry_hash != seen.entry_hash || it->second.term != entry.term) {
    Fail(Cat("state machine safety: ", node, " applied a different entry at index ",
             entry.index, " (term ", entry.term, " vs ", it->second.term, ")"));
  } else if (it->second.chain != chain_after) {
    Fail(Cat("state machine safety: ", node, " state diverged before index ", entry.index));
  }
}

void Checker::ObserveSnapshot(const NodeId& node, LogIndex index, uint64_t chain) {
  if (index == LogIndex(0)) return;
  auto it = committed_.find(index);
  if (it == committed_.end()) {
    Fail(Cat(node, " holds a snapshot at ", index, " that no node applied"));
  } else if (it->second.chain != chain) {
    Fail(Cat(node, " holds a snapshot at ", index, " whose state differs from the applied one"));
  }
}

void Checker::ObserveLeaderLog(const NodeId& node, Term term, const raft::LogStorage& log) {
  if (committed_.empty()) return;
  // Log matching (checked on every append) makes the newest committed entry
  // stand for all earlier ones.
  const auto& [index, committed] = *committed_.rbegin();
  if (term <= committed.term_bound) return;
  if (index > log.last_index()) {
    Fail(Cat("leader ", node, " of term ", term, " lacks committed entry ", index,
             " (last index ", log.last_index(), ")"));
    return;
  }
  if (index < log.first_index()) return;  // covered by its snapshot
  auto stored = log.term(index);
  if (!stored.ok() || *stored != committed.term) {
    Fail(Cat("leader ", node, " of term ", term, " holds a different entry at committed index ",
             index));
  }
}

void Checker::ObserveAck(LogIndex index, const std::string& key) {
  if (index > acked_max_) acked_max_ = index;
  LogIndex& key_index = key_acked_[key];
  if (index > key_index) key_index = index;
}

void Checker::ObserveReadIssued(uint64_t read_id, const std::string& key) {
  LogIndex key_index;
  if (auto it = key_acked_.find(key); it != key_acked_.end()) key_index = it->second;
  reads_[read_id] = PendingRead{key, acked_max_, key_index};
}

void Checker::ObserveReadServed(uint64_t read_id, LogIndex read_index, LogIndex applied,
                                const std::optional<KeyState>& state) {
  auto it = reads_.find(read_id);
  if (it == reads_.end()) {
    Fail(Cat("read ", read_id, " served but never issued (or served twice)"));
    return;
  }
  const PendingRead read = it->second;
  reads_.erase(it);
  ++reads_served_;
  if (read_index < read.acked_max) {
    Fail(Cat("stale read ", read_id, ": read index ", read_index, " below acknowledged write ",
             read.acked_max));
  } else if (applied < read_index) {
    Fail(Cat("read ", read_id, " served at applied ", applied, " before its index ", read_index));
  } else if (read.key_acked_max > LogIndex(0) &&
             (!state.has_value() || state->write_index < read.key_acked_max)) {
    Fail(Cat("stale read ", read_id, " of ", read.key, ": misses acknowledged write at ",
             read.key_acked_max));
  }
}

}  // namespace rq::sim
