// Raft's data: entries, hard state, membership, snapshots and messages.
// Plain structs; the wire encoding lives in cluster/, the disk encoding in
// store/ + wal/. Paper references are to Ongaro's dissertation (2014).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/strong_types.h"

namespace rq::raft {

// Never renumber: stored in the log.
enum class EntryType : uint8_t {
  kNormal = 0,        // opaque command for the state machine
  kConfigChange = 1,  // data is an encoded ConfigChange (EncodeConfigChange)
  kNoop = 2,          // a new leader's first entry (§6.4: commit one entry of its term)
};

struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::kNormal;
  std::string data;
  bool operator==(const Entry&) const = default;
};

// Persisted before any message that depends on it is sent (§3.8, Figure 3.1).
struct HardState {
  Term term;
  NodeId vote;  // empty: no vote in this term
  LogIndex commit;
  bool operator==(const HardState&) const = default;
};

struct Membership {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters
  bool operator==(const Membership&) const = default;
  bool IsVoter(const NodeId& id) const;
  bool IsLearner(const NodeId& id) const;
  bool Contains(const NodeId& id) const { return IsVoter(id) || IsLearner(id); }
};

// Never renumber: stored in the log.
enum class ConfigChangeType : uint8_t {
  kAddVoter = 0,    // adds a voter, or promotes a learner
  kAddLearner = 1,  // adds a non-voter
  kRemove = 2,
};

// Single-server membership change (§4.1). `context` is opaque to Raft; the
// store keeps node addresses there.
struct ConfigChange {
  ConfigChangeType type = ConfigChangeType::kAddVoter;
  NodeId node;
  std::string context;
  bool operator==(const ConfigChange&) const = default;
};
std::string EncodeConfigChange(const ConfigChange& change);
// nullopt for anything EncodeConfigChange could not have produced.
std::optional<ConfigChange> DecodeConfigChange(std::string_view data);
// The membership after `change` (kAddVoter promotes a learner; kAddLearner of a
// voter demotes it; kRemove of a non-member changes nothing).
Membership ApplyConfigChange(const Membership& membership, const ConfigChange& change);

struct SnapshotMeta {
  LogIndex index;  // last entry the snapshot covers
  Term term;       // its term
  Membership membership;  // configuration as of `index`
  bool operator==(const SnapshotMeta&) const = default;
};

// ---- Messages (§3.4-3.10, §4, §6). `from`/`to`/`term` live in Message. ----

struct VoteRequest {
  LogIndex last_log_index;
  Term last_log_term;
  bool pre_vote = false;   // §9.6: a pre-vote does not bump anyone's term
  bool transfer = false;   // §3.10: sent after TimeoutNow; bypasses leader stickiness
  bool operator==(const VoteRequest&) const = default;
};

struct VoteResponse {
  bool granted = false;
  bool pre_vote = false;
  bool operator==(const VoteResponse&) const = default;
};

struct AppendRequest {
  LogIndex prev_log_index;
  Term prev_log_term;
  std::vector<Entry> entries;  // empty for a heartbeat
  LogIndex commit;
  // Non-zero on heartbeats that confirm leadership for ReadIndex (§6.4);
  // echoed in the response.
  uint64_t read_context = 0;
  bool operator==(const AppendRequest&) const = default;
};

struct AppendResponse {
  bool success = false;
  // success: the last index now known to match the leader's log.
  // failure: a hint for fast backtracking (§5.3): the follower's last index
  // when its log is shorter, or the first index of the conflicting term.
  LogIndex match_or_hint;
  Term conflict_term;  // term at the conflict (zero when the log was short)
  uint64_t read_context = 0;
  bool operator==(const AppendResponse&) const = default;
};

// The core sends only the metadata; the driver attaches the snapshot bytes
// (streaming them in chunks on the wire) and delivers the message to the peer's
// core once the receiver has stored them all, then the peer's driver installs
// the bytes when they come out of Ready::snapshot.
struct InstallSnapshotRequest {
  SnapshotMeta meta;
  bool operator==(const InstallSnapshotRequest&) const = default;
};

// §3.10 leadership transfer: campaign now, ignoring the election timer.
struct TimeoutNow {
  bool operator==(const TimeoutNow&) const = default;
};

using MessageBody = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                                 InstallSnapshotRequest, TimeoutNow>;

struct Message {
  NodeId from;
  NodeId to;
  Term term;
  MessageBody body;
  bool operator==(const Message&) const = default;
};

// Role visible to the driver.
enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

struct ReadState {
  uint64_t read_id;  // what the caller passed to ReadIndex()
  LogIndex index;    // serve the read once applied >= index
};

}  // namespace rq::raft
