// NodeDirectory: where each member can be reached (its Raft and HTTP API
// addresses). Raft knows members only by ID; each membership change entry
// carries the member's addresses in its opaque context, so every node learns
// them from the log (and from the snapshot record, for compacted history).
//
// Thread-safety: all methods are safe from any thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/strong_types.h"
#include "raft/types.h"

namespace rq::store {

struct NodeAddress {
  std::string raft_addr;
  std::string api_addr;
  // Joined as a learner to become a voter once caught up (Store::Join):
  // the intent, kept in the log and the snapshot record, so that whichever
  // node leads finishes the promotion.
  bool promote = false;
  bool operator==(const NodeAddress&) const = default;
  bool SameAddresses(const NodeAddress& other) const {
    return raft_addr == other.raft_addr && api_addr == other.api_addr;
  }
};

// The context of a kAddVoter / kAddLearner change: the two addresses, then
// "promote" when the intent is set (older contexts have no third field).
std::string EncodeNodeAddress(const NodeAddress& address);
std::optional<NodeAddress> DecodeNodeAddress(std::string_view data);

using AddressMap = std::map<NodeId, NodeAddress>;
void PutAddressMap(std::string* out, const AddressMap& addresses);
bool GetAddressMap(std::string_view* in, AddressMap* addresses);

class NodeDirectory {
 public:
  void Set(const NodeId& id, const NodeAddress& address);
  // Learns from an appended entry: adds carry an address. Removed nodes keep
  // their address (a truncated removal must not lose it).
  void Observe(const raft::Entry& entry);
  std::optional<NodeAddress> Get(const NodeId& id) const;
  AddressMap All() const;
  void Replace(AddressMap addresses);

 private:
  mutable std::mutex mutex_;
  AddressMap addresses_;  // GUARDED_BY(mutex_)
};

}  // namespace rq::store
