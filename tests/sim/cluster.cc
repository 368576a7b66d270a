// Cluster: the node driver (Ready contract), disk model, node events, checks.
#include "sim/cluster.h"
#include "sim/cluster_internal.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/assert.h"

namespace rq::sim {

using detail::EntryWrite;
using detail::HardStateWrite;
using detail::kEventsKept;
using detail::SnapshotWrite;
using detail::Write;

namespace {

// A node drains at most this many Readies per input (a tiny apply batch
// limit legitimately needs one per entry); more means a livelock.
constexpr int kReadyRoundsMax = 1 << 16;

const char* RoleName(raft::Role role) {
  switch (role) {
    case raft::Role::kFollower: return "follower";
    case raft::Role::kPreCandidate: return "precandidate";
    case raft::Role::kCandidate: return "candidate";
    case raft::Role::kLeader: return "leader";
  }
  return "?";
}

class PrintLogger : public raft::Logger {
 public:
  void Log(Level, std::string_view line) override {
    std::fprintf(stderr, "    raft: %.*s\n", static_cast<int>(line.size()), line.data());
  }
  bool Enabled(Level level) const override { return level >= Level::kInfo; }
};


}  // namespace


Cluster::Cluster(const ClusterOptions& options) : options_(options), random_(options.seed) {
  RQ_ASSERT(options.voters >= 1);
  if (options.verbose) logger_ = std::make_unique<PrintLogger>();
  else logger_ = std::make_unique<raft::NullLogger>();
  size_t count = options.voters + options.spares;
  raft::Membership initial;
  for (size_t i = 0; i < count; ++i) {
    auto node = std::make_unique<Node>();
    node->id = NodeId("n" + std::to_string(i + 1));
    if (i < options.voters) initial.voters.push_back(node->id);
    nodes_.push_back(std::move(node));
  }
  std::sort(initial.voters.begin(), initial.voters.end());
  link_up_.assign(count, std::vector<bool>(count, true));
  for (size_t i = 0; i < count; ++i) {
    Node& node = *nodes_[i];
    StartNode(node);
    if (i >= options.voters) continue;
    node.bootstrapped = true;
    Status status = node.raft->Bootstrap(initial);
    RQ_ASSERT_MSG(status.ok(), status.ToString().c_str());
    ProcessReady(node);
    if (node.pending) FinishReady(node);
  }
}

Cluster::~Cluster() = default;

void Cluster::StartNode(Node& node) {
  node.live = node.durable;
  node.live_snapshot = node.durable_snapshot;
  node.model = KvModel();
  if (!node.durable_snapshot.empty()) {
    auto model = KvModel::Decode(node.durable_snapshot);
    RQ_ASSERT(model.has_value());
    node.model = *model;
  }
  raft::Config config;
  config.id = node.id;
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.check_quorum = options_.check_quorum;
  config.max_inflight_appends = options_.max_inflight_appends;
  config.max_append_bytes = options_.max_append_bytes;
  config.max_uncommitted_bytes = options_.max_uncommitted_bytes;
  config.max_committed_bytes_per_ready = options_.max_committed_bytes_per_ready;
  RQ_ASSERT_MSG(config.Validate().ok(), config.Validate().ToString().c_str());
  config.applied = node.model.applied();
  node.random = std::make_unique<Random>(random_.Next());
  node.raft = std::make_unique<raft::Raft>(config, &node.live, node.random.get(), logger_.get());
  node.up = true;
  ++node.incarnation;
}

// ---- Ready processing -------------------------------------------------------

void Cluster::ProcessReady(Node& node) {
  for (int round = 0; round < kReadyRoundsMax; ++round) {
    if (!node.up || node.pending || !node.raft->HasReady()) return;
    WriteReady(node, node.raft->GetReady());
    // Without unsynced writes there is nothing a crash could lose.
    if (!node.writes.empty() && random_.Chance(faults_.sync_delay_per_mille, 1000)) return;
    FinishReady(node);
  }
  checker_.Fail(node.id.value() + " keeps producing Readies (livelock)");
}

void Cluster::WriteReady(Node& node, const raft::Ready& ready) {
  if (ready.snapshot) {
    const raft::SnapshotMeta& meta = *ready.snapshot;
    auto it = node.incoming_snapshots.find({meta.index, meta.term});
    std::string bytes;
    if (it == node.incoming_snapshots.end()) {
      checker_.Fail(node.id.value() + " was told to install a snapshot it never received");
    } else {
      bytes = it->second;
    }
    node.live.ApplySnapshot(meta);
    node.live_snapshot = bytes;
    node.writes.push_back(SnapshotWrite{meta, bytes});
  }
  if (!ready.entries.empty()) {
    LogIndex first = ready.entries.front().index;
    Term previous;
    if (first > LogIndex(1)) {
      auto term = node.live.term(first - 1);
      if (!term.ok()) checker_.Fail(node.id.value() + " appends after a hole in its log");
      else previous = *term;
    }
    for (const raft::Entry& entry : ready.entries) {
      checker_.ObserveAppend(node.id, entry, previous);
      previous = entry.term;
      node.writes.push_back(EntryWrite{entry});
    }
    node.live.Append(ready.entries);
  }
  if (ready.hard_state) {
    node.live.SetHardState(*ready.hard_state);
    node.writes.push_back(HardStateWrite{*ready.hard_state});
  }
  node.pending = ready;
}

namespace {

// Applies unsynced writes [0, count) to a storage, batching entry runs.
void ApplyWrites(const std::vector<Write>& writes, size_t count, raft::MemoryLogStorage* storage,
                 std::string* snapshot, Term* durable_term) {
  std::vector<raft::Entry> run;
  auto flush = [&] {
    if (!run.empty()) storage->Append(run);
    run.clear();
  };
  for (size_t i = 0; i < count; ++i) {
    if (const auto* entry = std::get_if<EntryWrite>(&writes[i])) {
      run.push_back(entry->entry);
      continue;
    }
    flush();
    if (const auto* snap = std::get_if<SnapshotWrite>(&writes[i])) {
      storage->ApplySnapshot(snap->meta);
      *snapshot = snap->bytes;
    } else {
      const auto& hard = std::get<HardStateWrite>(writes[i]).hard_state;
      storage->SetHardState(hard);
      *durable_term = hard.term;
    }
  }
  flush();
}

}  // namespace

void Cluster::FinishReady(Node& node) {
  RQ_ASSERT(node.pending.has_value());
  ApplyWrites(node.writes, node.writes.size(), &node.durable, &node.durable_snapshot,
              &node.durable_term);
  node.writes.clear();
  raft::Ready ready = std::move(*node.pending);
  node.pending.reset();
  for (const raft::Message& message : ready.messages) Send(node, message);
  if (ready.snapshot) InstallSnapshot(node, *ready.snapshot);
  for (const raft::Entry& entry : ready.committed_entries) ApplyEntry(node, entry);
  for (const raft::ReadState& read : ready.read_states) {
    auto it = node.read_keys.find(read.read_id);
    if (it == node.read_keys.end()) {
      checker_.Fail(node.id.value() + " confirmed a read it was never asked for");
      continue;
    }
    node.reads[read.read_id] = {read.index, it->second};
    node.read_keys.erase(it);
  }
  ServeReads(node);
  node.raft->Advance(ready);
}

void Cluster::InstallSnapshot(Node& node, const raft::SnapshotMeta& meta) {
  auto model = KvModel::Decode(node.live_snapshot);
  if (!model || model->applied() != meta.index) {
    checker_.Fail(node.id.value() + " got snapshot bytes that do not match the snapshot index");
    return;
  }
  if (meta.index < node.model.applied()) {
    checker_.Fail(node.id.value() + " installed a snapshot behind its applied index");
  }
  node.model = *model;
  checker_.ObserveSnapshot(node.id, meta.index, node.model.chain());
  // Newer snapshots may have arrived meanwhile (async_inputs); keep those.
  node.incoming_snapshots.erase(node.incoming_snapshots.begin(),
                                node.incoming_snapshots.upper_bound({meta.index, Term(UINT64_MAX)}));
  // Proposals covered by the snapshot have an unknown outcome for the client.
  node.proposals.erase(node.proposals.begin(), node.proposals.upper_bound(meta.index));
}

void Cluster::ApplyEntry(Node& node, const raft::Entry& committed) {
  raft::Entry entry = committed;
  if (corrupt_next_apply_ == NodeIndex(node.id) && entry.type == raft::EntryType::kNormal) {
    entry.data = "set corrupted 1";
    corrupt_next_apply_.reset();
  }
  LogIndex before = node.model.applied();
  if (entry.index != before + 1) {
    checker_.ObserveApply(node.id, before, entry, node.model.chain());
    return;
  }
  node.model.Apply(entry);
  checker_.ObserveApply(node.id, before, entry, node.model.chain());
  auto it = node.proposals.find(entry.index);
  if (it != node.proposals.end() && it->second.term == entry.term && it->second.data == entry.data) {
    checker_.ObserveAck(entry.index, it->second.key);
    ++acks_;
  }
  node.proposals.erase(node.proposals.begin(), node.proposals.upper_bound(entry.index));
}

void Cluster::ServeReads(Node& node) {
  for (auto it = node.reads.begin(); it != node.reads.end();) {
    const auto& [index, key] = it->second;
    if (index > node.model.applied()) {
      ++it;
      continue;
    }
    checker_.ObserveReadServed(it->first, index, node.model.applied(), node.model.Get(key));
    it = node.reads.erase(it);
  }
}

// ---- Node events ------------------------------------------------------------

void Cluster::TickAll() {
  ++now_;
  Step("tick", -1, -1, now_, 0);
  for (auto& node : nodes_) {
    if (!TakesInput(*node)) continue;  // a blocked node misses the tick
    node->raft->Tick();
    ProcessReady(*node);
  }
  Check();
}

void Cluster::TickOne(size_t index) {
  Node& node = *nodes_[index];
  Step("tick-one", static_cast<int>(index), -1, 0, 0);
  if (!TakesInput(node)) return;
  node.raft->Tick();
  ProcessReady(node);
  Check();
}

void Cluster::Sync(size_t index) {
  Node& node = *nodes_[index];
  Step("sync", static_cast<int>(index), -1, node.writes.size(), 0);
  if (node.up && node.pending) {
    FinishReady(node);
    ProcessReady(node);
  }
  Check();
}

void Cluster::Crash(size_t index) {
  Node& node = *nodes_[index];
  size_t kept = 0;
  if (faults_.tear_on_crash && !node.writes.empty()) kept = random_.Range(0, node.writes.size());
  Step("crash", static_cast<int>(index), -1, kept, node.writes.size());
  if (!node.up) return;
  ApplyWrites(node.writes, kept, &node.durable, &node.durable_snapshot, &node.durable_term);
  node.writes.clear();
  node.pending.reset();
  node.raft.reset();
  node.up = false;
  node.proposals.clear();
  node.read_keys.clear();
  node.reads.clear();
  node.incoming_snapshots.clear();
  Check();
}

void Cluster::Restart(size_t index) {
  Node& node = *nodes_[index];
  Step("restart", static_cast<int>(index), -1, node.durable.last_index().value(),
       node.durable_term.value());
  if (node.up) return;
  StartNode(node);
  checker_.ObserveRestart(node.id, node.durable_term, node.raft->term());
  checker_.ObserveSnapshot(node.id, node.model.applied(), node.model.chain());
  ProcessReady(node);
  Check();
}

Status Cluster::Propose(size_t index, const std::string& key, bool increment) {
  Node& node = *nodes_[index];
  std::string data = increment ? KvModel::IncrCommand(key) : KvModel::SetCommand(key, next_value_++);
  Step("propose", static_cast<int>(index), -1, 0, 0);
  if (!TakesInput(node)) return Status::Unavailable("node down or blocked");
  bool leader = node.raft->role() == raft::Role::kLeader;
  Result<LogIndex> result = node.raft->Propose(data);
  if (result.ok()) {
    if (!leader) checker_.Fail(node.id.value() + " accepted a proposal as a non-leader");
    node.proposals[*result] = {node.raft->term(), data, key};
    events_[(steps_ - 1) % kEventsKept].a = result->value();
  } else if (!leader && !result.status().IsNotLeader()) {
    checker_.Fail(node.id.value() + " refused a proposal as a non-leader with " +
                  result.status().ToString());
  }
  ProcessReady(node);
  Check();
  return result.status();
}

Status Cluster::ReadIndex(size_t index, const std::string& key) {
  Node& node = *nodes_[index];
  uint64_t read_id = next_read_id_++;
  Step("read", static_cast<int>(index), -1, read_id, 0);
  if (!TakesInput(node)) return Status::Unavailable("node down or blocked");
  checker_.ObserveReadIssued(read_id, key);
  bool leader = node.raft->role() == raft::Role::kLeader;
  Status status = node.raft->ReadIndex(read_id);
  if (status.ok()) {
    if (!leader) checker_.Fail(node.id.value() + " accepted a ReadIndex as a non-leader");
    node.read_keys[read_id] = key;
  }
  ProcessReady(node);
  Check();
  return status;
}

Status Cluster::ChangeMembership(size_t index, const raft::ConfigChange& change) {
  Node& node = *nodes_[index];
  Step("config", static_cast<int>(index), static_cast<int>(NodeIndex(change.node)),
       static_cast<uint64_t>(change.type), 0);
  if (!TakesInput(node)) return Status::Unavailable("node down or blocked");
  Result<LogIndex> result = node.raft->ProposeConfigChange(change);
  ProcessReady(node);
  Check();
  return result.status();
}

Status Cluster::TransferLeadership(size_t index, size_t target) {
  Node& node = *nodes_[index];
  Step("transfer", static_cast<int>(index), static_cast<int>(target), 0, 0);
  if (!TakesInput(node)) return Status::Unavailable("node down or blocked");
  Status status = node.raft->TransferLeadership(nodes_[target]->id);
  ProcessReady(node);
  Check();
  return status;
}

Status Cluster::Compact(size_t index, uint64_t trailing_entries) {
  Node& node = *nodes_[index];
  LogIndex applied = node.model.applied();
  Step("compact", static_cast<int>(index), -1, applied.value(), trailing_entries);
  if (!node.up || node.pending) return Status::Unavailable("node down or blocked");
  if (applied <= node.live.snapshot().index) return Status::OK();
  Result<raft::SnapshotMeta> meta = node.raft->SnapshotMetaFor(applied);
  if (!meta.ok()) {
    checker_.Fail(node.id.value() + " has no snapshot meta for its applied index: " +
                  meta.status().ToString());
    return meta.status();
  }
  if (meta->index != applied || meta->membership != node.model.membership()) {
    checker_.Fail(node.id.value() + " snapshot meta disagrees with the applied membership");
  }
  LogIndex compact_to = LogIndex(applied.value() - std::min(trailing_entries, applied.value()));
  // The store writes and fsyncs the snapshot before telling the core, so the
  // durable log is compacted at the same moment as the live one.
  node.live.CreateSnapshot(*meta, compact_to);
  node.durable.CreateSnapshot(*meta, compact_to);
  node.live_snapshot = node.durable_snapshot = node.model.Encode();
  Status status = node.raft->Compact(applied, trailing_entries);
  if (!status.ok()) checker_.Fail(node.id.value() + " refused Compact: " + status.ToString());
  checker_.ObserveSnapshot(node.id, applied, node.model.chain());
  ProcessReady(node);
  Check();
  return Status::OK();
}

// ---- Checks, reports, helpers ----------------------------------------------

void Cluster::Check() {
  for (const auto& node : nodes_) {
    if (!node->up) continue;
    const raft::Raft& core = *node->raft;
    checker_.ObserveNode(node->id, core.role(), core.term(), core.commit_index(), core.last_index());
    // With inputs taken while a Ready persists, the core's log can run ahead
    // of the live storage; the check waits for the Sync.
    if (core.role() == raft::Role::kLeader && !node->pending) {
      checker_.ObserveLeaderLog(node->id, core.term(), node->live);
    }
  }
}

void Cluster::Step(const char* what, int node, int peer, uint64_t a, uint64_t b) {
  ++steps_;
  if (options_.count_events) ++event_counts_[what];
  Event event{steps_, now_, what, node, peer, a, b};
  if (events_.size() < kEventsKept) events_.push_back(event);
  else events_[(steps_ - 1) % kEventsKept] = event;
  if (!options_.verbose) return;
  std::fprintf(stderr, "step %llu t=%llu %s node=%d peer=%d a=%llu b=%llu\n",
               static_cast<unsigned long long>(steps_), static_cast<unsigned long long>(now_), what,
               node + 1, peer + 1, static_cast<unsigned long long>(a),
               static_cast<unsigned long long>(b));
}

void Cluster::DrainNetwork() {
  for (int round = 0; round < 100000; ++round) {
    bool progress = false;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i]->up && nodes_[i]->pending) {
        Sync(i);
        progress = true;
      }
    }
    if (size_t count = DeliverableCount(); count > 0) {
      Deliver(random_.Uniform(count));
      progress = true;
    }
    if (!progress) return;
  }
  checker_.Fail("network never drains");
}

void Cluster::Stabilize(uint32_t ticks) {
  for (uint32_t i = 0; i < ticks; ++i) {
    DrainNetwork();
    TickAll();
  }
  DrainNetwork();
}

std::optional<size_t> Cluster::Leader() const {
  std::optional<size_t> best;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = *nodes_[i];
    if (!node.up || node.raft->role() != raft::Role::kLeader) continue;
    if (!best || node.raft->term() > nodes_[*best]->raft->term()) best = i;
  }
  return best;
}

bool Cluster::IsUp(size_t node) const { return nodes_[node]->up; }
// With async_inputs the driver keeps stepping the core while a Ready is being
// persisted (raft.h allows it; the store's raft loop does it to batch fsyncs).
bool Cluster::TakesInput(const Node& node) const {
  return node.up && (!node.pending || options_.async_inputs);
}

bool Cluster::IsBlocked(size_t node) const { return nodes_[node]->pending.has_value(); }
const NodeId& Cluster::Id(size_t node) const { return nodes_[node]->id; }
const raft::Raft* Cluster::Core(size_t node) const { return nodes_[node]->raft.get(); }
const KvModel& Cluster::Model(size_t node) const { return nodes_[node]->model; }

size_t Cluster::blocked_count() const {
  size_t count = 0;
  for (const auto& node : nodes_) count += node->pending ? 1 : 0;
  return count;
}

std::vector<size_t> Cluster::DownNodes() const {
  std::vector<size_t> down;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->up) down.push_back(i);
  }
  return down;
}

size_t Cluster::NodeIndex(const NodeId& id) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->id == id) return i;
  }
  return nodes_.size();
}

std::string Cluster::Report(size_t events) const {
  std::ostringstream out;
  for (const auto& node : nodes_) {
    out << node->id << (node->up ? " up" : " down");
    if (node->up) {
      const raft::Raft& core = *node->raft;
      out << " role=" << RoleName(core.role()) << " term=" << core.term()
          << " commit=" << core.commit_index() << " last=" << core.last_index();
    } else {
      out << " durable_term=" << node->durable_term << " durable_last=" << node->durable.last_index();
    }
    out << " applied=" << node->model.applied() << " snapshot=" << node->live.snapshot().index
        << (node->pending ? " blocked" : "") << "\n";
  }
  std::vector<Event> ordered = events_;
  std::sort(ordered.begin(), ordered.end(),
            [](const Event& x, const Event& y) { return x.step < y.step; });
  size_t skip = ordered.size() > events ? ordered.size() - events : 0;
  for (size_t i = skip; i < ordered.size(); ++i) {
    const Event& e = ordered[i];
    out << "  step " << e.step << " t=" << e.time << " " << e.what;
    if (e.node >= 0) out << " " << nodes_[static_cast<size_t>(e.node)]->id;
    if (e.peer >= 0 && static_cast<size_t>(e.peer) < nodes_.size()) {
      out << " peer=" << nodes_[static_cast<size_t>(e.peer)]->id;
    }
    out << " a=" << e.a << " b=" << e.b << "\n";
  }
  return out.str();
}

}  // namespace rq::sim
