// Bootstrapper: -bootstrap-expect N (API.md 4.11). A node with no state and
// the same -join list as its peers first tries to join; when no join
// succeeds it NOTIFYs every target. The first node that has heard from N
// voters (itself included) bootstraps a cluster of exactly those N; the
// others find that cluster by joining, or bootstrap the same membership
// themselves, which writes identical entries and is therefore safe.
//
// Thread-safety: OnNotify runs on transport threads, Run on main's thread;
// both may run at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "cluster/client.h"
#include "disco/dns.h"
#include "node/join.h"
#include "store/store.h"

namespace rq::node {

struct BootstrapPlan {
  JoinPlan join;  // targets, interval, and this node's id and addresses
  int64_t expect = 0;
  std::chrono::nanoseconds timeout = std::chrono::seconds(120);
  // -disco-mode dns / dns-srv: replaces join.targets on every round.
  disco::Discovery discover;
};

class Bootstrapper {
 public:
  // REQUIRES: store and client outlive the Bootstrapper; the store is started.
  Bootstrapper(store::Store* store, cluster::Client* client, BootstrapPlan plan);

  // NOTIFY from another starting node.
  void OnNotify(const cluster::NotifyRequest& request, std::function<void(cluster::NotifyResponse)> done);

  // Blocks until this node belongs to a cluster with a known leader (OK) or
  // the timeout passes (Timeout).
  Status Run(const std::function<void(const std::string&)>& on_join_target);

  // The voters heard from so far, this node included.
  size_t notified_count() const;

 private:
  bool InCluster() const;
  void NotifyTargets();
  void MaybeBootstrap();

  store::Store* store_;
  cluster::Client* client_;
  BootstrapPlan plan_;
  mutable std::mutex mutex_;
  std::map<NodeId, store::NodeAddress> notified_;  // GUARDED_BY(mutex_)
  bool bootstrapped_ = false;                       // GUARDED_BY(mutex_)
};

}  // namespace rq::node
