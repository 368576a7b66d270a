// Forming or joining a cluster through a Consul or etcd key: the node's side
// of disco::KvDiscovery, where the key's answer meets the store (bootstrap
// as the seed) and the cluster client (join the node the key names).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "cluster/client.h"
#include "config/config.h"
#include "disco/kv_discovery.h"
#include "node/join.h"
#include "store/store.h"

namespace rq::node {

// The discovery for rqlited's -disco-mode consul-kv|etcd-kv, -disco-key and
// -disco-config, with this node's advertised addresses. InvalidArgument or
// NotSupported naming what is wrong in the configuration.
Result<std::unique_ptr<disco::KvDiscovery>> MakeKvDiscovery(const config::Config& config, std::chrono::milliseconds timeout);

// Forms or joins the cluster through `discovery` for a started store with
// no Raft state. Returns OK once this node is in a cluster with a known
// leader. `join` carries this node's join request (id, addresses, role,
// credentials); its targets are filled from the key. `on_join_target` is as
// for JoinCluster.
Status FormClusterWithKv(disco::KvDiscovery* discovery, store::Store* store, cluster::Client* client, JoinPlan join,
                         const std::function<void(const std::string&)>& on_join_target);

}  // namespace rq::node
