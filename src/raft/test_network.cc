// In-memory test cluster; see test_network.h.
#include "raft/test_network.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace rq::raft::test {

Message Msg(const std::string& from, const std::string& to, uint64_t term, MessageBody body) {
  return Message{NodeId(from), NodeId(to), Term(term), std::move(body)};
}

void Network::StderrLogger::Log(Level, std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

bool Network::StderrLogger::Enabled(Level level) const {
  static const bool on = std::getenv("RAFT_TEST_LOG") != nullptr;
  return on && level >= Level::kInfo;
}

Network::Network(int n, Config base, int voters, uint64_t seed) : base_(base), seed_(seed) {
  if (voters < 0) voters = n;
  Membership membership;
  for (int i = 1; i <= n; ++i) {
    std::string id = std::to_string(i);
    (i <= voters ? membership.voters : membership.learners).push_back(NodeId(id));
  }
  std::sort(membership.voters.begin(), membership.voters.end());
  std::sort(membership.learners.begin(), membership.learners.end());
  for (int i = 1; i <= n; ++i) {
    std::string id = std::to_string(i);
    AddEmptyNode(id);
    RQ_ASSERT(raft(id).Bootstrap(membership).ok());
  }
  Stabilize();
}

TestNode& Network::node(const std::string& id) {
  auto it = nodes_.find(id);
  RQ_ASSERT(it != nodes_.end());
  return it->second;
}

std::vector<std::string> Network::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

std::unique_ptr<Raft> Network::MakeRaft(TestNode& n) {
  return std::make_unique<Raft>(n.config, n.storage.get(), n.random.get(), &logger_);
}

void Network::AddEmptyNode(const std::string& id) {
  TestNode n;
  n.id = NodeId(id);
  n.config = base_;
  n.config.id = n.id;
  n.storage = std::make_unique<MemoryLogStorage>();
  n.random = std::make_unique<Random>(seed_ * 1000 + std::hash<std::string>()(id) % 1000);
  auto [it, inserted] = nodes_.emplace(id, std::move(n));
  RQ_ASSERT(inserted);
  it->second.raft = MakeRaft(it->second);
}

void Network::Restart(const std::string& id) {
  TestNode& n = node(id);
  n.alive = true;
  n.config.applied = n.applied.empty() ? LogIndex(0) : n.applied.back().index;
  n.raft = MakeRaft(n);
}

void Network::Snapshot(const std::string& id, uint64_t trailing) {
  TestNode& n = node(id);
  LogIndex index = n.raft->applied_index();
  auto meta = n.raft->SnapshotMetaFor(index);
  RQ_ASSERT(meta.ok());
  LogIndex compact_to = index - std::min<uint64_t>(trailing, index.value());
  compact_to = std::max(compact_to, n.storage->first_index() - 1);
  n.storage->CreateSnapshot(*meta, compact_to);
  std::vector<Entry>& data = n.snapshots[index];
  data.clear();
  for (const Entry& e : n.applied) {
    if (e.index <= index) data.push_back(e);
  }
  RQ_ASSERT(n.raft->Compact(index, trailing).ok());
}

bool Network::Blocked(const Message& m) const {
  auto to = nodes_.find(m.to.value());
  if (to == nodes_.end() || !to->second.alive) return true;
  if (isolated_.count(m.from.value()) || isolated_.count(m.to.value())) return true;
  if (cut_.count({m.from.value(), m.to.value()})) return true;
  return filter && filter(m);
}

void Network::CheckSafety(const TestNode& n, const Ready& rd) {
  if (rd.soft_state && rd.soft_state->role == Role::kLeader) {
    auto [it, inserted] = leaders_by_term_.emplace(n.raft->term(), n.id);
    RQ_ASSERT_MSG(inserted || it->second == n.id, "two leaders in one term");
  }
  for (const auto& [id, other] : nodes_) {
    size_t common = std::min(other.applied.size(), n.applied.size());
    for (size_t i = 0; i < common; ++i) {
      RQ_ASSERT_MSG(other.applied[i] == n.applied[i], "state machines diverged");
    }
  }
}

void Network::ProcessReady(TestNode& n) {
  Ready rd = n.raft->GetReady();
  if (rd.snapshot) n.storage->ApplySnapshot(*rd.snapshot);
  n.storage->Append(rd.entries);
  if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
  for (Message& m : rd.messages) queue_.push_back(std::move(m));
  if (rd.snapshot) {
    auto it = n.incoming.find(rd.snapshot->index);
    RQ_ASSERT_MSG(it != n.incoming.end(), "snapshot installed without its bytes");
    n.applied = it->second;
    n.snapshots[rd.snapshot->index] = it->second;  // it may serve it onwards
    RQ_ASSERT(!n.applied.empty() && n.applied.back().index == rd.snapshot->index);
  }
  for (const Entry& e : rd.committed_entries) {
    RQ_ASSERT_MSG(n.applied.empty() || e.index == n.applied.back().index + 1, "gap or repeat in applied entries");
    n.applied.push_back(e);
  }
  for (const ReadState& r : rd.read_states) n.reads.push_back(r);
  if (rd.membership) n.reported_membership = rd.membership;
  CheckSafety(n, rd);
  if (n.auto_advance) {
    n.raft->Advance(rd);
  } else {
    n.unadvanced = std::move(rd);
  }
}

void Network::AdvanceHeld(const std::string& id) {
  TestNode& n = node(id);
  RQ_ASSERT(n.unadvanced.has_value());
  n.raft->Advance(*n.unadvanced);
  n.unadvanced.reset();
}

void Network::ReportLost(const Message& m) {
  // The driver learns that a snapshot stream failed and tells the leader.
  if (!report_snapshots || !std::holds_alternative<InstallSnapshotRequest>(m.body)) return;
  TestNode& from = node(m.from.value());
  if (from.alive) from.raft->ReportSnapshot(m.to, false);
}

void Network::Deliver(const Message& m) {
  if (Blocked(m)) {
    ReportLost(m);
    return;
  }
  delivered.push_back(m);
  TestNode& to = node(m.to.value());
  if (std::holds_alternative<InstallSnapshotRequest>(m.body)) {
    TestNode& from = node(m.from.value());
    LogIndex index = std::get<InstallSnapshotRequest>(m.body).meta.index;
    RQ_ASSERT(from.snapshots.count(index) == 1);
    to.incoming[index] = from.snapshots[index];
    to.raft->Step(m);
    if (report_snapshots && from.alive) from.raft->ReportSnapshot(m.to, true);
    return;
  }
  to.raft->Step(m);
}

bool Network::StepOnce() {
  bool moved = false;
  for (auto& [id, n] : nodes_) {
    if (n.alive && n.raft->HasReady()) {
      ProcessReady(n);
      moved = true;
    }
  }
  std::vector<Message> batch;
  batch.swap(queue_);
  if (chaos != nullptr) {
    for (size_t i = batch.size(); i > 1; --i) std::swap(batch[i - 1], batch[chaos->Uniform(i)]);
  }
  for (const Message& m : batch) {
    if (chaos != nullptr) {
      if (chaos->Chance(drop_pct, 100)) {
        ReportLost(m);
        continue;
      }
      if (chaos->Chance(delay_pct, 100)) {
        queue_.push_back(m);
        continue;
      }
      if (chaos->Chance(dup_pct, 100)) Deliver(m);
    }
    Deliver(m);
  }
  return moved || !batch.empty();
}

void Network::Stabilize(int max_rounds) {
  for (int i = 0; i < max_rounds; ++i) {
    if (!StepOnce()) return;
  }
  RQ_ASSERT_MSG(false, "network did not stabilize");
}

void Network::Tick(const std::string& id, int count) {
  for (int i = 0; i < count; ++i) raft(id).Tick();
}

void Network::TickAll(int count) {
  for (int i = 0; i < count; ++i) {
    for (auto& [id, n] : nodes_) {
      if (n.alive) n.raft->Tick();
    }
    Stabilize();
  }
}

void Network::Campaign(const std::string& id) {
  raft(id).Campaign();
  Stabilize();
}

std::string Network::Leader() const {
  std::string best;
  Term best_term;
  for (const auto& [id, n] : nodes_) {
    if (n.alive && n.raft->role() == Role::kLeader && n.raft->term() >= best_term) {
      best = id;
      best_term = n.raft->term();
    }
  }
  return best;
}

LogIndex Network::ProposeOnLeader(const std::string& data) {
  std::string leader = Leader();
  RQ_ASSERT(!leader.empty());
  auto index = raft(leader).Propose(data);
  RQ_ASSERT(index.ok());
  return *index;
}

std::vector<std::string> Network::AppliedData(const std::string& id) {
  std::vector<std::string> out;
  for (const Entry& e : node(id).applied) {
    if (e.type == EntryType::kNormal) out.push_back(e.data);
  }
  return out;
}

}  // namespace rq::raft::test
