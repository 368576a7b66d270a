// JoinCluster: how a starting node joins through -join addresses (rqlite's
// cluster/join.go behaviour, API.md 4.5): try each address in turn, follow a
// "not leader" answer to the leader it names (a bounded number of hops), and
// repeat the whole round `attempts` times with `interval` between rounds.
//
// Thread-safety: a free function; it blocks the calling thread (never call it
// from a Client or Transport callback).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cluster/client.h"

namespace rq::cluster {

struct JoinOptions {
  std::vector<std::string> targets;  // Raft addresses (host:port)
  std::string self_raft_addr;        // skipped when it appears in targets
  int attempts = 5;
  std::chrono::nanoseconds interval = std::chrono::seconds(3);
  std::chrono::nanoseconds rpc_timeout = std::chrono::seconds(10);
  int redirects_max = 5;  // "not leader" hops followed per target
  // Told each address a join request is about to go to (a joining node uses
  // it to reach the leader before the log tells it the leader's address).
  std::function<void(const std::string&)> on_attempt;
};

// The Raft address of the node that accepted the join. Errors: the last
// failure seen (the remote's status, or a transport error) once every
// attempt is spent; InvalidArgument when there is nothing to try; a
// non-retryable refusal (e.g. bad credentials: InvalidArgument,
// NotSupported) is returned at once.
Result<std::string> JoinCluster(Client& client, const JoinRequest& request, const JoinOptions& options);

}  // namespace rq::cluster
