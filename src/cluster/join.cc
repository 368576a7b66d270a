#include "cluster/join.h"

#include <thread>

#include "base/logging.h"

namespace rq::cluster {
namespace {

// Worth another round: the cluster may be electing a leader, or the target
// is not up yet.
bool Retryable(const Status& status) {
  switch (status.code()) {
    case Status::Code::kIOError:
    case Status::Code::kTimeout:
    case Status::Code::kNotLeader:
    case Status::Code::kUnavailable:
    case Status::Code::kBusy:
    case Status::Code::kAborted:
    case Status::Code::kUnknownOutcome:
      return true;
    default:
      return false;
  }
}

// One target, following redirects. OK carries the accepting address.
Result<std::string> JoinVia(Client& client, const JoinRequest& request, const JoinOptions& options,
                            std::string address) {
  Status last;
  for (int hop = 0; hop <= options.redirects_max; ++hop) {
    if (options.on_attempt) options.on_attempt(address);
    auto response = client.Join(address, request, options.rpc_timeout);
    if (!response.ok()) return response.status();
    if (response->status.ok()) return address;
    last = response->status;
    if (!last.IsNotLeader() || response->leader_raft_addr.empty() || response->leader_raft_addr == address) {
      return last;
    }
    RQ_LOG_INFO("cluster: join via {} redirected to leader at {}", address, response->leader_raft_addr);
    address = response->leader_raft_addr;
  }
  return last.WithContext("too many redirects");
}

}  // namespace

Result<std::string> JoinCluster(Client& client, const JoinRequest& request, const JoinOptions& options) {
  std::vector<std::string> targets;
  for (const std::string& t : options.targets) {
    if (!t.empty() && t != options.self_raft_addr) targets.push_back(t);
  }
  if (targets.empty() || options.attempts <= 0) {
    return Status::InvalidArgument("no join address to try other than this node's own");
  }
  Status last;
  for (int attempt = 1; attempt <= options.attempts; ++attempt) {
    for (const std::string& target : targets) {
      auto joined = JoinVia(client, request, options, target);
      if (joined.ok()) return joined;
      last = joined.status();
      RQ_LOG_WARN("cluster: join attempt {} via {} failed: {}", attempt, target, last.ToString());
      if (!Retryable(last)) return last;
    }
    if (attempt < options.attempts) std::this_thread::sleep_for(options.interval);
  }
  return last.WithContext("failed to join cluster after " + std::to_string(options.attempts) + " attempts");
}

}  // namespace rq::cluster
