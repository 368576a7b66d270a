// Swarm: the random event generator and the two phases.
#include "sim/swarm.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "sim/cluster.h"

namespace rq::sim {
namespace {

// Relative weights of the event kinds, drawn per seed.
struct Weights {
  uint32_t deliver = 60;
  uint32_t tick = 12;
  uint32_t tick_one = 0;
  uint32_t sync = 20;
  uint32_t propose = 8;
  uint32_t propose_follower = 1;
  uint32_t read = 3;
  uint32_t crash = 0;
  uint32_t restart = 3;
  uint32_t partition = 0;
  uint32_t heal = 2;
  uint32_t membership = 0;
  uint32_t transfer = 0;
  uint32_t compact = 0;
};

enum class Kind { kDeliver, kTick, kTickOne, kSync, kPropose, kProposeFollower, kRead, kCrash, kRestart,
                  kPartition, kHeal, kMembership, kTransfer, kCompact };

const char* const kKeys[] = {"a", "b", "c", "d"};

class Run {
 public:
  Run(const SwarmOptions& options, const ClusterOptions& cluster_options)
      : options_(options), cluster_(cluster_options) {}

  SwarmResult Execute();

 private:
  void PickFaults();
  void SafetyStep();
  Kind PickKind();
  void Partition();
  void Membership();
  bool Liveness();
  bool MembersCatchUp();
  size_t AnyNode() { return cluster_.random().Uniform(cluster_.size()); }
  const char* AnyKey() { return kKeys[cluster_.random().Uniform(4)]; }
  std::vector<size_t> UpNodes() const;

  SwarmOptions options_;
  Cluster cluster_;
  Weights weights_;
};

void Run::PickFaults() {
  Random& random = cluster_.random();
  Faults& faults = cluster_.faults();
  faults.drop_per_mille = static_cast<uint32_t>(random.Chance(1, 4) ? 0 : random.Range(0, 200));
  faults.duplicate_per_mille = static_cast<uint32_t>(random.Range(0, 100));
  faults.delay_ticks_max = static_cast<uint32_t>(random.Range(0, 4));
  faults.sync_delay_per_mille = static_cast<uint32_t>(random.Range(0, 600));
  faults.tear_on_crash = random.Chance(1, 2);
  weights_.crash = static_cast<uint32_t>(random.Range(0, 3));
  weights_.partition = static_cast<uint32_t>(random.Range(0, 3));
  weights_.membership = static_cast<uint32_t>(random.Range(0, 3));
  weights_.transfer = static_cast<uint32_t>(random.Range(0, 2));
  weights_.compact = static_cast<uint32_t>(random.Range(0, 3));
  weights_.read = static_cast<uint32_t>(random.Range(0, 4));
  weights_.tick_one = static_cast<uint32_t>(random.Range(0, 4));
}

std::vector<size_t> Run::UpNodes() const {
  std::vector<size_t> up;
  for (size_t i = 0; i < cluster_.size(); ++i) {
    if (cluster_.IsUp(i)) up.push_back(i);
  }
  return up;
}

Kind Run::PickKind() {
  const bool deliverable = cluster_.DeliverableCount() > 0;
  const bool blocked = cluster_.blocked_count() > 0;
  const bool down = !cluster_.DownNodes().empty();
  const std::pair<Kind, uint32_t> table[] = {
      {Kind::kDeliver, deliverable ? weights_.deliver : 0},
      {Kind::kTick, weights_.tick},
      {Kind::kTickOne, weights_.tick_one},
      {Kind::kSync, blocked ? weights_.sync : 0},
      {Kind::kPropose, weights_.propose},
      {Kind::kProposeFollower, weights_.propose_follower},
      {Kind::kRead, weights_.read},
      {Kind::kCrash, weights_.crash},
      {Kind::kRestart, down ? weights_.restart : 0},
      {Kind::kPartition, weights_.partition},
      {Kind::kHeal, cluster_.IsPartitioned() ? weights_.heal : 0},
      {Kind::kMembership, weights_.membership},
      {Kind::kTransfer, weights_.transfer},
      {Kind::kCompact, weights_.compact},
  };
  uint64_t total = 0;
  for (const auto& [kind, weight] : table) total += weight;
  uint64_t pick = cluster_.random().Uniform(total);
  for (const auto& [kind, weight] : table) {
    if (pick < weight) return kind;
    pick -= weight;
  }
  return Kind::kTick;
}

void Run::SafetyStep() {
  Random& random = cluster_.random();
  auto leader = cluster_.Leader();
  switch (PickKind()) {
    case Kind::kDeliver: cluster_.Deliver(random.Uniform(cluster_.DeliverableCount())); break;
    case Kind::kTick: cluster_.TickAll(); break;
    case Kind::kTickOne: cluster_.TickOne(AnyNode()); break;
    case Kind::kSync: {
      std::vector<size_t> blocked;
      for (size_t i = 0; i < cluster_.size(); ++i) {
        if (cluster_.IsBlocked(i)) blocked.push_back(i);
      }
      cluster_.Sync(blocked[random.Uniform(blocked.size())]);
      break;
    }
    case Kind::kPropose:
      (void)cluster_.Propose(leader.value_or(AnyNode()), AnyKey(), random.Chance(1, 3));
      break;
    case Kind::kProposeFollower: (void)cluster_.Propose(AnyNode(), AnyKey(), false); break;
    case Kind::kRead: (void)cluster_.ReadIndex(leader.value_or(AnyNode()), AnyKey()); break;
    case Kind::kCrash: {
      std::vector<size_t> up = UpNodes();
      if (!up.empty()) cluster_.Crash(up[random.Uniform(up.size())]);
      break;
    }
    case Kind::kRestart: {
      std::vector<size_t> down = cluster_.DownNodes();
      cluster_.Restart(down[random.Uniform(down.size())]);
      break;
    }
    case Kind::kPartition: Partition(); break;
    case Kind::kHeal: cluster_.HealNetwork(); break;
    case Kind::kMembership: Membership(); break;
    case Kind::kTransfer:
      if (leader) (void)cluster_.TransferLeadership(*leader, AnyNode());
      break;
    case Kind::kCompact: (void)cluster_.Compact(AnyNode(), random.Range(0, 8)); break;
  }
}

// Symmetric isolation of one node, or a one-way cut of one link.
void Run::Partition() {
  Random& random = cluster_.random();
  size_t node = AnyNode();
  if (random.Chance(1, 2)) {
    cluster_.Isolate(node);
    return;
  }
  size_t other = AnyNode();
  if (other != node) cluster_.SetLink(node, other, false);
}

void Run::Membership() {
  auto leader = cluster_.Leader();
  if (!leader) return;
  Random& random = cluster_.random();
  const raft::Membership& members = cluster_.Core(*leader)->membership();
  size_t target = AnyNode();
  const NodeId& id = cluster_.Id(target);
  raft::ConfigChange change;
  change.node = id;
  if (members.IsVoter(id)) {
    // Keep at least two voters so that a quorum can still lose nobody.
    if (members.voters.size() <= 2) return;
    change.type = random.Chance(3, 4) ? raft::ConfigChangeType::kRemove
                                      : raft::ConfigChangeType::kAddLearner;  // demote
  } else if (members.IsLearner(id)) {
    change.type = random.Chance(3, 4) ? raft::ConfigChangeType::kAddVoter
                                      : raft::ConfigChangeType::kRemove;
  } else {
    change.type = raft::ConfigChangeType::kAddLearner;
  }
  (void)cluster_.ChangeMembership(*leader, change);
}

// Heals everything, then requires progress within the tick bound.
bool Run::Liveness() {
  cluster_.faults() = Faults{};
  cluster_.HealNetwork();
  for (size_t node : cluster_.DownNodes()) cluster_.Restart(node);
  const uint64_t acks_before = cluster_.acks();
  for (uint32_t tick = 0; tick < options_.liveness_ticks; ++tick) {
    cluster_.DrainNetwork();
    if (!cluster_.checker().ok()) return true;
    if (cluster_.acks() > acks_before) return MembersCatchUp();
    auto leader = cluster_.Leader();
    if (leader && tick % 4 == 0) (void)cluster_.Propose(*leader, "live", false);
    cluster_.TickAll();
  }
  return false;
}

// After the liveness commit, every member (voter or learner) of the leader's
// configuration must apply up to it within a few election timeouts.
bool Run::MembersCatchUp() {
  auto leader = cluster_.Leader();
  if (!leader) return true;  // lost again after committing: not a stall
  const LogIndex target = cluster_.Core(*leader)->commit_index();
  const raft::Membership members = cluster_.Core(*leader)->membership();
  for (uint32_t tick = 0; tick < options_.liveness_ticks; ++tick) {
    bool behind = false;
    for (size_t i = 0; i < cluster_.size(); ++i) {
      if (members.Contains(cluster_.Id(i)) && cluster_.Model(i).applied() < target) behind = true;
    }
    if (!behind) return true;
    cluster_.DrainNetwork();
    cluster_.TickAll();
  }
  cluster_.checker().Fail("liveness: a member never caught up to index " +
                          std::to_string(target.value()));
  return true;
}

SwarmResult Run::Execute() {
  PickFaults();
  for (uint64_t step = 0; step < options_.steps && cluster_.checker().ok(); ++step) SafetyStep();
  bool converged = true;
  if (cluster_.checker().ok()) converged = Liveness();
  if (!converged) {
    cluster_.checker().Fail("liveness: no new commit within " +
                            std::to_string(options_.liveness_ticks) + " ticks after healing");
  }
  SwarmResult result;
  result.steps = cluster_.steps();
  result.ok = cluster_.checker().ok();
  result.committed = cluster_.checker().committed_count();
  result.acks = cluster_.acks();
  result.max_term = cluster_.checker().max_term().value();
  result.reads_served = cluster_.checker().reads_served();
  result.ticks = cluster_.now();
  result.event_counts = cluster_.event_counts();
  if (!result.ok) {
    std::ostringstream out;
    out << "SEED=" << options_.seed << "\nviolation: " << cluster_.checker().violation() << "\n"
        << cluster_.Report(30);
    result.report = out.str();
  }
  return result;
}

}  // namespace

SwarmResult RunSwarm(const SwarmOptions& options) {
  Random shape(options.seed);
  ClusterOptions cluster;
  cluster.seed = shape.Next();
  cluster.voters = options.voters != 0 ? options.voters : (shape.Chance(1, 2) ? 3 : 5);
  cluster.spares = static_cast<uint32_t>(shape.Range(0, 2));
  cluster.election_ticks = static_cast<uint32_t>(shape.Range(3, 12));
  cluster.heartbeat_ticks = static_cast<uint32_t>(shape.Range(1, 2));
  cluster.check_quorum = shape.Chance(4, 5);
  cluster.async_inputs = shape.Chance(1, 2);
  if (shape.Chance(1, 2)) {  // tight limits: flow control and batching paths
    cluster.max_inflight_appends = static_cast<uint32_t>(shape.Range(1, 4));
    cluster.max_append_bytes = shape.Range(1, 64);
    cluster.max_uncommitted_bytes = shape.Range(32, 512);
    cluster.max_committed_bytes_per_ready = shape.Range(1, 64);
  }
  cluster.verbose = options.verbose;
  cluster.count_events = options.count_events;
  Run run(options, cluster);
  return run.Execute();
}

}  // namespace rq::sim
