// KvModel: the simulator's replicated state machine, a small key-value
// register set that also folds every applied entry into a running hash chain,
// so two replicas (or a replica and a snapshot) can be compared in O(1).
//
// Commands carried in kNormal entries: "set <key> <value>" and "incr <key>".
// Config-change entries update `membership`; noops only extend the chain.
//
// Ownership: a value type, one per simulated node. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/strong_types.h"
#include "raft/types.h"

namespace rq::sim {

struct KeyState {
  int64_t value = 0;
  LogIndex write_index;  // index of the entry that last wrote this key
  bool operator==(const KeyState&) const = default;
};

class KvModel {
 public:
  // Applies one committed entry. REQUIRES: entry.index == applied() + 1.
  void Apply(const raft::Entry& entry);

  LogIndex applied() const { return applied_; }
  uint64_t chain() const { return chain_; }
  const raft::Membership& membership() const { return membership_; }
  void set_membership(const raft::Membership& membership) { membership_ = membership; }
  // nullopt when the key was never written.
  std::optional<KeyState> Get(const std::string& key) const;

  // Snapshot bytes: everything above, so a restored model equals this one.
  std::string Encode() const;
  static std::optional<KvModel> Decode(std::string_view bytes);

  bool operator==(const KvModel&) const = default;

  // Mixes one entry into a chain value; exposed for the checker.
  static uint64_t ChainStep(uint64_t chain, const raft::Entry& entry);
  static std::string SetCommand(const std::string& key, int64_t value);
  static std::string IncrCommand(const std::string& key);

 private:
  void ApplyCommand(const raft::Entry& entry);

  std::map<std::string, KeyState> keys_;
  LogIndex applied_;
  uint64_t chain_ = 0;
  raft::Membership membership_;
};

}  // namespace rq::sim
