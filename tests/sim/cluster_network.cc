// Cluster: the simulated network (delivery, loss, duplication, delay,
// partitions).
#include <algorithm>

#include "base/assert.h"
#include "sim/cluster_internal.h"

namespace rq::sim {

using detail::MessageName;

void Cluster::Send(Node& from, const raft::Message& message) {
  size_t to = NodeIndex(message.to);
  if (to >= nodes_.size()) return;  // addressed to a node that never existed
  const bool snapshot = std::holds_alternative<raft::InstallSnapshotRequest>(message.body);
  const bool lost = random_.Chance(faults_.drop_per_mille, 1000);
  // A lost snapshot stream still ends in a report to the sender (the store's
  // streamer sees the failure), so it travels as a doomed message.
  if (lost && !snapshot) return;
  InFlight flight;
  flight.lost = lost;
  flight.message = message;
  flight.from_incarnation = from.incarnation;
  flight.ready_at = now_ + random_.Range(0, faults_.delay_ticks_max);
  if (const auto* install = std::get_if<raft::InstallSnapshotRequest>(&message.body)) {
    if (install->meta.index != from.live.snapshot().index) {
      checker_.Fail(from.id.value() + " sent a snapshot it does not hold");
    }
    flight.snapshot = from.live_snapshot;
  }
  if (random_.Chance(faults_.duplicate_per_mille, 1000)) network_.push_back(flight);
  network_.push_back(std::move(flight));
}

// Blocked nodes take no input; a snapshot's delivery is reported back to its
// sender, so a blocked sender holds its snapshots back too.
bool Cluster::CanDeliver(const InFlight& flight) const {
  if (flight.ready_at > now_ || !TakesInput(*nodes_[NodeIndex(flight.message.to)])) return false;
  if (!std::holds_alternative<raft::InstallSnapshotRequest>(flight.message.body)) return true;
  if (hold_snapshots_) return false;
  const Node& sender = *nodes_[NodeIndex(flight.message.from)];
  return !(sender.up && !TakesInput(sender) && sender.incarnation == flight.from_incarnation);
}

size_t Cluster::DeliverableCount() const {
  size_t count = 0;
  for (const InFlight& flight : network_) count += CanDeliver(flight) ? 1 : 0;
  return count;
}

void Cluster::Deliver(size_t pick) {
  size_t position = 0;
  for (; position < network_.size(); ++position) {
    if (!CanDeliver(network_[position])) continue;
    if (pick == 0) break;
    --pick;
  }
  RQ_ASSERT(position < network_.size());
  InFlight flight = std::move(network_[position]);
  network_.erase(network_.begin() + static_cast<ptrdiff_t>(position));
  size_t from = NodeIndex(flight.message.from);
  size_t to = NodeIndex(flight.message.to);
  Node& target = *nodes_[to];
  bool delivered = !flight.lost && target.up && link_up_[from][to];
  Step(delivered ? MessageName(flight.message) : "lost", static_cast<int>(to),
       static_cast<int>(from), flight.message.term.value(), 0);
  Node& sender = *nodes_[from];
  // A transport that sees a peer unreachable tells the core now and then.
  if (!delivered && sender.up && sender.incarnation == flight.from_incarnation &&
      TakesInput(sender) && random_.Chance(1, 4)) {
    sender.raft->ReportUnreachable(target.id);
    ProcessReady(sender);
  }
  if (std::holds_alternative<raft::InstallSnapshotRequest>(flight.message.body)) {
    if (sender.up && sender.incarnation == flight.from_incarnation) {
      sender.raft->ReportSnapshot(target.id, delivered);
      ProcessReady(sender);
    }
    if (delivered) {
      const auto& meta = std::get<raft::InstallSnapshotRequest>(flight.message.body).meta;
      target.incoming_snapshots[{meta.index, meta.term}] = flight.snapshot;
    }
  }
  if (delivered) {
    target.raft->Step(flight.message);
    ProcessReady(target);
  }
  Check();
}

void Cluster::SetLink(size_t from, size_t to, bool up) {
  Step(up ? "link-up" : "link-down", static_cast<int>(from), static_cast<int>(to), 0, 0);
  link_up_[from][to] = up;
  Check();
}

void Cluster::Isolate(size_t node) {
  Step("isolate", static_cast<int>(node), -1, 0, 0);
  for (size_t other = 0; other < nodes_.size(); ++other) {
    if (other == node) continue;
    link_up_[node][other] = false;
    link_up_[other][node] = false;
  }
  Check();
}

void Cluster::HealNetwork() {
  Step("heal", -1, -1, 0, 0);
  for (auto& row : link_up_) std::fill(row.begin(), row.end(), true);
  Check();
}

bool Cluster::IsPartitioned() const {
  for (const auto& row : link_up_) {
    if (std::find(row.begin(), row.end(), false) != row.end()) return true;
  }
  return false;
}

}  // namespace rq::sim
