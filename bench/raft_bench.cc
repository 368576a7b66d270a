// raft_bench: entries per second committed through a 3-node cluster of Raft
// cores, in memory, with instant message delivery: the cost of the protocol
// alone (no disk, no network, no SQLite). Arg = entries proposed per round.
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/assert.h"
#include "base/random.h"
#include "raft/log_storage.h"
#include "raft/raft.h"

namespace {

using rq::LogIndex;
using rq::NodeId;
namespace raft = rq::raft;

struct BenchNode {
  raft::MemoryLogStorage storage;
  std::unique_ptr<rq::Random> random;
  std::unique_ptr<raft::Raft> core;
  LogIndex applied;
};

// Three cores wired back to back; Pump() runs Ready rounds until quiet.
class BenchCluster {
 public:
  BenchCluster() {
    raft::Membership members;
    for (int i = 0; i < 3; ++i) members.voters.emplace_back("n" + std::to_string(i + 1));
    for (int i = 0; i < 3; ++i) {
      auto node = std::make_unique<BenchNode>();
      raft::Config config;
      config.id = members.voters[static_cast<size_t>(i)];
      node->random = std::make_unique<rq::Random>(static_cast<uint64_t>(i + 1));
      node->core = std::make_unique<raft::Raft>(config, &node->storage, node->random.get(), &logger_);
      RQ_ASSERT(node->core->Bootstrap(members).ok());
      nodes_.push_back(std::move(node));
    }
    Pump();
    nodes_[0]->core->Campaign();
    Pump();
    RQ_ASSERT(nodes_[0]->core->role() == raft::Role::kLeader);
  }

  raft::Raft& leader() { return *nodes_[0]->core; }

  // Snapshots every node at its applied index and drops the log before it,
  // as the store does, so long runs keep a bounded log.
  void CompactAll() {
    for (auto& node : nodes_) {
      auto meta = node->core->SnapshotMetaFor(node->applied);
      if (!meta.ok()) continue;
      node->storage.CreateSnapshot(*meta, node->applied);
      RQ_ASSERT(node->core->Compact(node->applied, 0).ok());
    }
  }
  LogIndex leader_applied() const { return nodes_[0]->applied; }

  void Pump() {
    for (bool busy = true; busy;) {
      busy = false;
      for (auto& node : nodes_) busy |= Drain(*node);
      while (!mail_.empty()) {
        raft::Message message = std::move(mail_.front());
        mail_.pop_front();
        Find(message.to).core->Step(message);
        busy = true;
      }
    }
  }

 private:
  bool Drain(BenchNode& node) {
    if (!node.core->HasReady()) return false;
    raft::Ready ready = node.core->GetReady();
    if (ready.hard_state) node.storage.SetHardState(*ready.hard_state);
    if (!ready.entries.empty()) node.storage.Append(ready.entries);
    for (raft::Message& message : ready.messages) mail_.push_back(std::move(message));
    if (!ready.committed_entries.empty()) node.applied = ready.committed_entries.back().index;
    node.core->Advance(ready);
    return true;
  }

  BenchNode& Find(const NodeId& id) {
    for (auto& node : nodes_) {
      if (node->core->id() == id) return *node;
    }
    RQ_UNREACHABLE();
  }

  raft::NullLogger logger_;
  std::vector<std::unique_ptr<BenchNode>> nodes_;
  std::deque<raft::Message> mail_;
};

void BM_CommitThreeNodes(benchmark::State& state) {
  const int64_t batch = state.range(0);
  BenchCluster cluster;
  const std::string payload(100, 'x');  // a small INSERT-sized command
  uint64_t rounds = 0;
  for (auto _ : state) {
    LogIndex last;
    for (int64_t i = 0; i < batch; ++i) last = *cluster.leader().Propose(payload);
    cluster.Pump();
    RQ_ASSERT(cluster.leader_applied() >= last);
    if (++rounds % 1024 == 0) cluster.CompactAll();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_CommitThreeNodes)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
