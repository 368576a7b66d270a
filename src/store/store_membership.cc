// Store's membership and peers: join, remove, step-down and bootstrap, the
// transport's peer list, and what each peer message teaches (contact, address).
#include "store/store.h"

#include <algorithm>
#include <utility>

#include "base/logging.h"
#include "store/store_internal.h"
#include "store/store_metrics.h"

namespace rq::store {

using internal::SteadyClock;

void Store::UpdatePeers(const raft::Membership&) {
  if (transport_ == nullptr) return;  // still recovering; Start() sets the peers
  // Every node whose address is known, members or not: a node being added
  // must be reachable before its membership commits, and a joining node
  // must answer the leader before it learns the membership.
  // Called from the Raft loop and transport threads: reading the directory
  // and handing it over must not interleave, or an older view could land last.
  std::lock_guard lock(peers_mutex_);
  std::map<NodeId, std::string> peers;
  for (const auto& [id, address] : directory_.All()) {
    if (id != options_.node_id && !address.raft_addr.empty()) peers[id] = address.raft_addr;
  }
  transport_->SetPeers(std::move(peers));
}

void Store::LearnAddress(const NodeId& id, const NodeAddress& address) {
  if (id == options_.node_id || directory_.Get(id)) return;
  directory_.Set(id, address);
  UpdatePeers(raft::Membership{});
}

void Store::SetJoinHint(const std::string& raft_addr) {
  std::lock_guard lock(join_hint_mutex_);
  join_hint_ = raft_addr;
}

std::map<NodeId, SteadyClock::time_point> Store::LastContacts() const {
  std::lock_guard lock(contact_mutex_);
  return last_contact_;
}

void Store::NotePeerMessage(const raft::Message& message) {
  {
    std::lock_guard lock(contact_mutex_);
    last_contact_[message.from] = SteadyClock::now();
  }
  if (!directory_.Get(message.from)) {
    std::string hint;
    {
      std::lock_guard lock(join_hint_mutex_);
      hint = join_hint_;
    }
    if (!hint.empty()) {
      RQ_LOG_INFO("store: taking {} as the address of node {} (the join target)", hint, message.from.value());
      directory_.Set(message.from, NodeAddress{hint, ""});
      UpdatePeers(raft::Membership{});
    }
  }
}

void Store::Step(raft::Message message) {
  NotePeerMessage(message);
  raft_node_->Step(std::move(message));
}

void Store::StepAll(std::vector<raft::Message> messages) {
  // Replication messages run on the caller's (transport) thread when the
  // core is free: no handoff to the Raft thread on the write path.
  std::vector<raft::Message> replication;
  for (raft::Message& message : messages) {
    NotePeerMessage(message);
    if (std::holds_alternative<raft::AppendRequest>(message.body) ||
        std::holds_alternative<raft::AppendResponse>(message.body)) {
      replication.push_back(std::move(message));
    } else {
      if (!replication.empty()) raft_node_->StepOnCaller(std::exchange(replication, {}));
      raft_node_->Step(std::move(message));
    }
  }
  if (!replication.empty()) raft_node_->StepOnCaller(std::move(replication));
}

void Store::ProposeMembership(raft::ConfigChange change, std::function<void(Status)> done) {
  ProposeMembershipUntil(std::move(change), std::move(done), SteadyClock::now() + options_.apply_timeout);
}

void Store::ProposeMembershipUntil(raft::ConfigChange change, std::function<void(Status)> done,
                                   SteadyClock::time_point deadline) {
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  raft_node_->ProposeConfigChange(change, [this, change, shared_done, deadline](
                                              Result<std::pair<LogIndex, Term>> appended) {
    // Changes go one at a time: one that finds another in flight (a
    // learner's promotion, a concurrent join) waits for it, up to the
    // deadline, on the apply loop's timer.
    const auto retry_at = SteadyClock::now() + std::chrono::milliseconds(20);
    if (!appended.ok() && appended.status().IsBusy() &&
        appended.status().message().find("configuration change is in progress") != std::string::npos &&
        !stopped_.load() && retry_at < deadline) {
      {
        std::lock_guard lock(apply_mutex_);
        stale_deadlines_.emplace(retry_at, [this, change, shared_done, deadline] {
          if (stopped_.load()) {
            (*shared_done)(Status::Aborted("node is shutting down"));
            return;
          }
          ProposeMembershipUntil(change, std::move(*shared_done), deadline);
        });
      }
      apply_wake_.notify_one();
      return;
    }
    if (!appended.ok()) {
      (*shared_done)(appended.status());
      return;
    }
    Done on_applied = [shared_done](Result<command::Response> result) {
      (*shared_done)(result.ok() ? Status::OK() : result.status());
    };
    RegisterPending(appended->first, Pending{appended->second, std::move(on_applied), deadline});
  });
}

void Store::Join(const NodeId& id, const NodeAddress& address, bool voter, std::function<void(Status)> done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  NodeState state = raft_node_->state();
  bool member = state.membership.Contains(id);
  bool same_role = voter ? state.membership.IsVoter(id) : state.membership.IsLearner(id);
  std::optional<NodeAddress> known = directory_.Get(id);
  // An API address the log never held (a cluster converted from Go rqlite
  // v7+) is no change: peers ask a member for it (GetNodeMeta).
  bool same_address = known && known->raft_addr == address.raft_addr &&
                      (known->api_addr == address.api_addr || known->api_addr.empty());
  // A learner on its way to becoming a voter asks again (join retries): it
  // is promoted once caught up (PromoteCaughtUpLearners), not now.
  const bool promoting = voter && state.membership.IsLearner(id) && known && known->promote;
  if (member && (same_role || promoting) && same_address) {
    StoreCounters().num_ignored_joins.Add();
    done(Status::OK());  // rejoining with the same ID and address: nothing to do
    return;
  }
  done = [done = std::move(done)](Status status) {
    if (status.ok()) StoreCounters().num_joins.Add();
    done(std::move(status));
  };
  // A new voter joins as a learner first and is promoted once it has caught
  // up: joining as a voter at once would put a node without the data in
  // every write's quorum while it copies the snapshot (a 1 -> 2 join
  // stalled writes for seconds).
  const bool learner_first = voter && !member && !state.membership.voters.empty();
  NodeAddress recorded = address;
  recorded.promote = learner_first;
  raft::ConfigChange add;
  add.type = voter && !learner_first ? raft::ConfigChangeType::kAddVoter : raft::ConfigChangeType::kAddLearner;
  add.node = id;
  add.context = EncodeNodeAddress(recorded);
  bool demotion = member && !voter && state.membership.IsVoter(id);
  bool moved = member && known && !known->SameAddresses(address);
  if (learner_first) {
    // The joiner hears back once it is a voter, as with rqlite, or after
    // kJoinPromotionWait as a learner (a big snapshot still copying): it is
    // a member either way, and is promoted when caught up.
    ProposeMembership(std::move(add), [this, id, done = std::move(done)](Status added) mutable {
      if (!added.ok()) {
        done(added);
        return;
      }
      {
        std::lock_guard lock(join_waiters_mutex_);
        join_waiters_.push_back(JoinWaiter{id, SteadyClock::now() + kJoinPromotionWait, std::move(done)});
      }
      {
        // Under the mutex the apply loop checks it with, so the wake is not lost.
        std::lock_guard wake_lock(apply_mutex_);
        promotion_wanted_.store(true);
      }
      apply_wake_.notify_one();
    });
    return;
  }
  if (!demotion && !moved) {
    ProposeMembership(std::move(add), std::move(done));
    return;
  }
  // A changed address (or a voter rejoining as a learner) replaces the old
  // entry: remove it first, then add it again, one change at a time.
  raft::ConfigChange remove;
  remove.type = raft::ConfigChangeType::kRemove;
  remove.node = id;
  ProposeMembership(std::move(remove), [this, add = std::move(add), done = std::move(done)](Status removed) mutable {
    if (!removed.ok()) {
      done(removed);
      return;
    }
    StoreCounters().num_removed_before_joins.Add();
    ProposeMembership(std::move(add), std::move(done));
  });
}

void Store::Remove(const NodeId& id, std::function<void(Status)> done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  if (!raft_node_->state().membership.Contains(id)) {
    done(Status::NotFound("node " + id.value() + " is not a member of the cluster"));
    return;
  }
  raft::ConfigChange remove;
  remove.type = raft::ConfigChangeType::kRemove;
  remove.node = id;
  std::optional<NodeAddress> address = directory_.Get(id);
  ProposeMembership(std::move(remove), [this, id, address, done = std::move(done)](Status status) {
    if (status.ok() && address && on_member_removed_ && id != options_.node_id) on_member_removed_(id, *address);
    done(std::move(status));
  });
}

void Store::OnRemovedByLeader() {
  if (raft_node_->is_leader()) return;  // a stale notice: this node leads again
  RQ_LOG_WARN("store: the leader removed this node from the cluster");
  if (on_removed_) on_removed_();
}

void Store::StepDown(const NodeId& target, std::function<void(Status)> done) {
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool posted = raft_node_->Post([this, target, shared_done](raft::Raft& raft) {
    if (raft.role() != raft::Role::kLeader) {
      (*shared_done)(Status::NotLeader("not leader"));
      return;
    }
    NodeId chosen = target;
    if (chosen.empty()) {
      LogIndex best;
      for (const auto& [id, match] : raft.progress()) {
        if (id == options_.node_id || !raft.membership().IsVoter(id)) continue;
        if (chosen.empty() || match > best) {
          chosen = id;
          best = match;
        }
      }
    }
    if (chosen.empty()) {
      (*shared_done)(Status::InvalidArgument("no other voter to transfer leadership to"));
      return;
    }
    (*shared_done)(raft.TransferLeadership(chosen));
  });
  if (!posted) (*shared_done)(Status::Aborted("node is shutting down"));
}

void Store::BootstrapCluster(std::vector<std::pair<NodeId, NodeAddress>> voters, std::function<void(Status)> done) {
  // Sorted, so every node bootstrapping with the same members writes the
  // same entries at the same indexes (Raft's log matching then holds).
  std::sort(voters.begin(), voters.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<raft::ConfigChange> members;
  for (const auto& [id, address] : voters) {
    raft::ConfigChange member;
    member.type = raft::ConfigChangeType::kAddVoter;
    member.node = id;
    member.context = EncodeNodeAddress(address);
    members.push_back(std::move(member));
  }
  auto shared_done = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool posted = raft_node_->Post([members = std::move(members), shared_done](raft::Raft& raft) {
    (*shared_done)(raft.Bootstrap(members));
  });
  if (!posted) (*shared_done)(Status::Aborted("node is shutting down"));
}

void Store::PromoteCaughtUpLearners() {
  const NodeState state = raft_node_->state();
  std::vector<JoinWaiter> answered;
  {
    std::lock_guard lock(join_waiters_mutex_);
    const auto now = SteadyClock::now();
    for (auto it = join_waiters_.begin(); it != join_waiters_.end();) {
      if (state.membership.IsVoter(it->id) || now >= it->deadline || state.role != raft::Role::kLeader) {
        answered.push_back(std::move(*it));
        it = join_waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (JoinWaiter& waiter : answered) waiter.done(Status::OK());
  std::vector<std::pair<NodeId, NodeAddress>> candidates;
  for (const NodeId& learner : state.membership.learners) {
    std::optional<NodeAddress> address = directory_.Get(learner);
    if (address && address->promote) candidates.emplace_back(learner, *address);
  }
  {
    std::lock_guard lock(join_waiters_mutex_);
    promotion_wanted_.store(!candidates.empty() || !join_waiters_.empty());
  }
  if (candidates.empty() || state.role != raft::Role::kLeader || promotion_in_flight_.load()) return;
  promotion_in_flight_.store(true);
  bool posted = raft_node_->Post([this, candidates = std::move(candidates)](raft::Raft& raft) {
    if (raft.role() != raft::Role::kLeader) {
      promotion_in_flight_.store(false);
      return;
    }
    const LogIndex last = raft.last_index();
    // Raft thread only: what each learner must have before it may vote,
    // the leader's last index when this leader first saw it waiting (so a
    // log that is short in entries but large in bytes is copied first).
    for (auto it = promotion_targets_.begin(); it != promotion_targets_.end();) {
      const bool waiting = std::any_of(candidates.begin(), candidates.end(),
                                       [&](const auto& c) { return c.first == it->first; });
      it = waiting ? std::next(it) : promotion_targets_.erase(it);
    }
    // A target from an earlier term of this node's leadership may name
    // entries that were truncated since: start again from this term's log.
    for (const auto& [learner, address] : candidates) {
      auto [it, inserted] = promotion_targets_.try_emplace(learner, std::make_pair(raft.term(), last));
      if (!inserted && (it->second.first != raft.term() || it->second.second > last)) {
        it->second = std::make_pair(raft.term(), last);
      }
    }
    for (const auto& [id, match] : raft.progress()) {
      for (const auto& [learner, address] : candidates) {
        // Caught up: it has what the leader had when the wait began, and is
        // within a small batch of entries of the leader's log now, so that
        // as a voter it does not hold up the quorum.
        if (id != learner || match < promotion_targets_[learner].second ||
            match.value() + kPromotionLagMax < last.value()) {
          continue;
        }
        raft::ConfigChange promote;
        promote.type = raft::ConfigChangeType::kAddVoter;
        promote.node = learner;
        // The intent stays: a promotion lost with its leader is made again.
        promote.context = EncodeNodeAddress(address);
        RQ_LOG_INFO("store: node {} has caught up (match {}, last {}); promoting it to voter", learner.value(),
                    match.value(), last.value());
        ProposeMembership(std::move(promote), [this, learner](Status s) {
          if (s.ok()) StoreCounters().num_promotions.Add();
          if (!s.ok()) RQ_LOG_WARN("store: promoting node {} failed: {}", learner.value(), s.ToString());
          promotion_in_flight_.store(false);
        });
        return;
      }
    }
    promotion_in_flight_.store(false);
  });
  if (!posted) promotion_in_flight_.store(false);
}

std::optional<NodeAddress> Store::LeaderAddress() const {
  NodeId leader = raft_node_->state().leader;
  if (leader.empty()) return std::nullopt;
  return directory_.Get(leader);
}

}  // namespace rq::store
