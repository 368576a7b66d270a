#include "node/bootstrap.h"

#include <thread>

#include "base/logging.h"
#include "base/random.h"

namespace rq::node {

Bootstrapper::Bootstrapper(store::Store* store, cluster::Client* client, BootstrapPlan plan)
    : store_(store), client_(client), plan_(std::move(plan)) {
  notified_[NodeId(plan_.join.request.id)] =
      store::NodeAddress{plan_.join.request.raft_addr, plan_.join.request.api_addr};
}

size_t Bootstrapper::notified_count() const {
  std::lock_guard lock(mutex_);
  return notified_.size();
}

void Bootstrapper::OnNotify(const cluster::NotifyRequest& request,
                            std::function<void(cluster::NotifyResponse)> done) {
  if (request.id.empty() || request.raft_addr.empty()) {
    done(cluster::NotifyResponse{Status::InvalidArgument("notify without a node id or Raft address"), ""});
    return;
  }
  {
    std::lock_guard lock(mutex_);
    auto [it, added] = notified_.insert_or_assign(NodeId(request.id),
                                                  store::NodeAddress{request.raft_addr, request.api_addr});
    if (added) {
      RQ_LOG_INFO("bootstrap: heard from node {} at {} ({} of {})", request.id, request.raft_addr,
                  notified_.size(), plan_.expect);
    }
  }
  // The notifier may bootstrap first and then call on us before its log
  // entries tell us where it is.
  store_->LearnAddress(NodeId(request.id), store::NodeAddress{request.raft_addr, request.api_addr});
  done(cluster::NotifyResponse{Status::OK(), ""});
  MaybeBootstrap();
}

void Bootstrapper::MaybeBootstrap() {
  std::vector<std::pair<NodeId, store::NodeAddress>> voters;
  {
    std::lock_guard lock(mutex_);
    if (bootstrapped_ || notified_.size() < static_cast<size_t>(plan_.expect)) return;
    bootstrapped_ = true;
    voters.assign(notified_.begin(), notified_.end());
  }
  // A node that already has a log (it joined, or heard from a leader of the
  // bootstrapped cluster) refuses: the cluster exists.
  store_->BootstrapCluster(std::move(voters), [this](Status status) {
    if (status.ok()) {
      RQ_LOG_INFO("bootstrap: bootstrapped the cluster");
      return;
    }
    RQ_LOG_INFO("bootstrap: not bootstrapping: {}", status.ToString());
    // Storage that is no longer empty means a cluster exists; anything else
    // (the node stopping, a refused member list) may be tried again.
    if (status.message().find("empty storage") == std::string::npos) {
      std::lock_guard lock(mutex_);
      bootstrapped_ = false;
    }
  });
}

bool Bootstrapper::InCluster() const {
  store::NodeState state = store_->status().raft;
  return !state.leader.empty() && state.membership.Contains(NodeId(plan_.join.request.id));
}

void Bootstrapper::NotifyTargets() {
  cluster::NotifyRequest request;
  request.id = plan_.join.request.id;
  request.raft_addr = plan_.join.request.raft_addr;
  request.api_addr = plan_.join.request.api_addr;
  request.credentials = plan_.join.request.credentials;
  for (const config::JoinTarget& target : plan_.join.targets) {
    std::string address = target.raft_addr;
    if (!target.http_url.empty()) {
      Result<std::string> resolved = RaftAddressFromApi(target.http_url, std::chrono::seconds(2));
      if (!resolved.ok()) continue;
      address = *resolved;
    }
    if (address == request.raft_addr) continue;  // this node counted itself already
    auto answer = client_->Notify(address, request, std::chrono::seconds(2));
    if (!answer.ok() || !answer->status.ok()) {
      RQ_LOG_DEBUG("bootstrap: notify {}: {}", address,
                   answer.ok() ? answer->status.ToString() : answer.status().ToString());
    }
  }
}

Status Bootstrapper::Run(const std::function<void(const std::string&)>& on_join_target) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + plan_.timeout;
  Random jitter(static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  JoinPlan one_round = plan_.join;
  one_round.attempts = 1;
  MaybeBootstrap();  // -bootstrap-expect 1
  while (Clock::now() < deadline) {
    if (InCluster()) return Status::OK();
    if (plan_.discover) {
      Result<std::vector<std::string>> found = plan_.discover();
      if (found.ok()) {
        plan_.join.targets.clear();
        for (const std::string& address : *found) plan_.join.targets.push_back(config::JoinTarget{address, ""});
        one_round.targets = plan_.join.targets;
      } else {
        RQ_LOG_WARN("bootstrap: discovery: {}", found.status().ToString());
      }
    }
    // The join hint (Store::SetJoinHint) is given only once a join was
    // accepted: before that, a message from an unknown node comes from a
    // node that bootstrapped, not from the node a join went to.
    std::string last_target;
    auto remember = [&last_target](const std::string& address) { last_target = address; };
    if (JoinCluster(client_, one_round, remember).ok()) {
      if (on_join_target && !last_target.empty()) on_join_target(last_target);
      return Status::OK();
    }
    NotifyTargets();
    MaybeBootstrap();
    // Jitter, so nodes started together do not keep colliding.
    auto pause = std::chrono::milliseconds(300 + static_cast<int64_t>(jitter.Uniform(700)));
    for (auto until = Clock::now() + pause; Clock::now() < until && !InCluster();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (InCluster()) return Status::OK();
  return Status::Timeout("bootstrap-expect: no cluster formed within the -bootstrap-expect-timeout (heard from " +
                         std::to_string(notified_count()) + " of " + std::to_string(plan_.expect) + " nodes)");
}

}  // namespace rq::node
