// Cluster formation through a Consul or etcd key (-disco-mode consul-kv or
// etcd-kv): build the discovery from the flags, then loop until this node
// is the seed of a new cluster or has joined the one the key names.
#include "node/kv_formation.h"

#include <future>
#include <thread>

#include "base/logging.h"
#include "disco/dns.h"

namespace rq::node {
namespace {

using Clock = std::chrono::steady_clock;

// After a failed join, before reading the key again (as rqlite does).
constexpr auto kRejoinPause = std::chrono::seconds(1);
// How long a freshly bootstrapped seed may take to elect itself.
constexpr auto kSeedElectionWait = std::chrono::seconds(30);

bool InCluster(store::Store* store, const NodeId& self) {
  store::NodeState state = store->status().raft;
  return !state.leader.empty() && state.membership.Contains(self);
}

Status BootstrapSeed(store::Store* store, const JoinPlan& join) {
  std::promise<Status> result;
  std::vector<std::pair<NodeId, store::NodeAddress>> voters{
      {NodeId(join.request.id), store::NodeAddress{join.request.raft_addr, join.request.api_addr}}};
  store->BootstrapCluster(std::move(voters), [&result](Status status) { result.set_value(std::move(status)); });
  Status bootstrapped = result.get_future().get();
  if (!bootstrapped.ok()) return bootstrapped;
  const NodeId self(join.request.id);
  for (auto until = Clock::now() + kSeedElectionWait; Clock::now() < until;) {
    if (InCluster(store, self)) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("bootstrapped as the seed but no leader was elected");
}

}  // namespace

Result<std::unique_ptr<disco::KvDiscovery>> MakeKvDiscovery(const config::Config& config, std::chrono::milliseconds timeout) {
  Result<std::string> text = disco::ReadDiscoConfig(config.disco_config);
  if (!text.ok()) return text.status();
  Result<std::unique_ptr<disco::KvClient>> client = disco::MakeKvClient(config.disco_mode, *text, timeout);
  if (!client.ok()) return client.status();
  disco::KvDiscoveryOptions options;
  options.key = disco::LeaderKey(config.disco_mode, config.disco_key);
  options.self = disco::LeaderRecord{config.node_id, config.HttpUrl(), config.raft_adv_addr};
  options.may_claim = !config.raft_non_voter;
  return std::make_unique<disco::KvDiscovery>(std::move(client).value(), std::move(options));
}

Status FormClusterWithKv(disco::KvDiscovery* discovery, store::Store* store, cluster::Client* client, JoinPlan join,
                         const std::function<void(const std::string&)>& on_join_target) {
  const NodeId self(join.request.id);
  join.attempts = 1;
  for (;;) {
    if (InCluster(store, self)) return Status::OK();
    disco::KvDiscovery::Registration registration = discovery->Register();
    // A key that names this node but no state here: this node claimed it
    // and stopped before forming the cluster. It is still the seed.
    const bool seed = registration.claimed || (registration.leader.id == join.request.id &&
                                               registration.leader.addr == join.request.raft_addr);
    if (seed && discovery->options().may_claim) {
      Status bootstrapped = BootstrapSeed(store, join);
      if (bootstrapped.ok()) return bootstrapped;
      RQ_LOG_WARN("disco: bootstrapping as the seed: {}", bootstrapped.ToString());
    } else if (!seed) {
      RQ_LOG_INFO("disco: joining the cluster through {} (node {})", registration.leader.addr,
                  registration.leader.id);
      join.targets = {config::JoinTarget{registration.leader.addr, ""}};
      Status joined = JoinCluster(client, join, on_join_target);
      if (joined.ok()) return joined;
      RQ_LOG_WARN("disco: joining through {}: {}", registration.leader.addr, joined.ToString());
    }
    std::this_thread::sleep_for(kRejoinPause);
  }
}

}  // namespace rq::node
