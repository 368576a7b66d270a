// Internals shared by cluster.cc and cluster_network.cc: the per-node state
// the driver keeps, messages in flight, and the event ring entries.
// Not part of the simulator's API. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "sim/cluster.h"

namespace rq::sim {
namespace detail {

constexpr size_t kEventsKept = 64;

inline const char* MessageName(const raft::Message& message) {
  static const char* const kNames[] = {"VoteReq",    "VoteResp",    "AppendReq",
                                       "AppendResp", "InstallSnap", "TimeoutNow"};
  return kNames[message.body.index()];
}

// One unsynced write; a torn crash keeps a prefix of these.
struct SnapshotWrite {
  raft::SnapshotMeta meta;
  std::string bytes;
};
struct EntryWrite {
  raft::Entry entry;
};
struct HardStateWrite {
  raft::HardState hard_state;
};
using Write = std::variant<SnapshotWrite, EntryWrite, HardStateWrite>;

}  // namespace detail

struct Cluster::Node {
  NodeId id;
  bool bootstrapped = false;
  bool up = false;
  uint64_t incarnation = 0;
  raft::MemoryLogStorage live;      // what the core reads
  raft::MemoryLogStorage durable;   // what survives a crash
  std::string live_snapshot;        // bytes for live.snapshot()
  std::string durable_snapshot;
  Term durable_term;
  std::unique_ptr<Random> random;
  std::unique_ptr<raft::Raft> raft;
  KvModel model;
  std::optional<raft::Ready> pending;  // written, not yet synced
  std::vector<detail::Write> writes;           // the unsynced part of `pending`
  struct Proposal {
    Term term;
    std::string data;
    std::string key;
  };
  std::map<LogIndex, Proposal> proposals;
  std::map<uint64_t, std::string> read_keys;                  // issued, not confirmed
  std::map<uint64_t, std::pair<LogIndex, std::string>> reads; // confirmed, not served
  std::map<std::pair<LogIndex, Term>, std::string> incoming_snapshots;
};

struct Cluster::InFlight {
  raft::Message message;
  std::string snapshot;  // attached to InstallSnapshotRequest
  bool lost = false;     // a snapshot the network will fail to deliver
  uint64_t from_incarnation = 0;
  uint64_t ready_at = 0;
};

struct Cluster::Event {
  uint64_t step = 0;
  uint64_t time = 0;
  const char* what = "";
  int node = -1;
  int peer = -1;
  uint64_t a = 0;
  uint64_t b = 0;
};

}  // namespace rq::sim
