// Joining an existing cluster at startup (-join, -join-attempts,
// -join-interval). Each target is a Raft address (v8+) or a node's HTTP API
// URL (v5 scripts); a URL is turned into the node's Raft address by reading
// its /status, then cluster::JoinCluster does the rest (redirects to the
// leader, attempts, interval).
//
// Thread-safety: a blocking function; call it from main's thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cluster/client.h"
#include "config/config.h"
#include "raft/types.h"

namespace rq::node {

struct JoinPlan {
  std::vector<config::JoinTarget> targets;
  int64_t attempts = 5;
  std::chrono::nanoseconds interval = std::chrono::seconds(3);
  cluster::JoinRequest request;  // this node's id, addresses and role
};

// OK once a leader accepted (and committed) the join. `on_target` is told
// each Raft address a join request is about to go to.
Status JoinCluster(cluster::Client* client, const JoinPlan& plan,
                   const std::function<void(const std::string&)>& on_target);

// -join-as: the named user's credentials from the -auth file, sent with
// join, notify and remove requests. NotFound when the user is not there.
Result<cluster::Credentials> JoinAsCredentials(const std::string& auth_file, const std::string& username);

// True when a node with state that is the only voter of its cluster is told
// to -join targets other than itself: it led a cluster of its own, and
// joining another would mix the two clusters' histories (rqlite refuses).
bool LeadsItsOwnClusterButJoinsAnother(const config::Config& config, const raft::Membership& membership);

// GET <url>/status?key=store.addr: the node's Raft address.
Result<std::string> RaftAddressFromApi(const std::string& url, std::chrono::nanoseconds timeout);

}  // namespace rq::node
