// peers.json: the membership an operator imposes on a node after the
// cluster lost its quorum (API.md 4.5, rqlite's format):
//   [{"id": "1", "address": "10.1.0.1:4002", "non_voter": false}, ...]
// The store reads <data>/raft/peers.json at start, recovers with it, and
// renames it to peers.info so a restart does not recover again.
//
// Thread-safety: plain functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "raft/types.h"

namespace rq::store {

struct PeerEntry {
  NodeId id;
  std::string raft_addr;
  bool voter = true;
  bool operator==(const PeerEntry&) const = default;
};

// InvalidArgument naming the problem: not JSON, not an array, an entry
// without id or address, a duplicate id, or no voter at all.
Result<std::vector<PeerEntry>> ParsePeersFile(std::string_view text);

raft::Membership MembershipOf(const std::vector<PeerEntry>& peers);

}  // namespace rq::store
