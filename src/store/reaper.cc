#include "store/reaper.h"

#include <algorithm>

#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "store/store_metrics.h"

namespace rq::store {

Reaper::Reaper(Store* store, ReaperOptions options) : store_(store), options_(options) {}

Reaper::~Reaper() { Stop(); }

void Reaper::Start() {
  if (options_.voter_timeout.count() <= 0 && options_.learner_timeout.count() <= 0) return;
  thread_ = std::thread([this] {
    NameThisThread("reaper");
    Run();
  });
}

void Reaper::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reaper::Run() {
  // A tenth of the shortest timeout keeps reaping within 10% of it.
  auto shortest = std::chrono::nanoseconds::max();
  for (auto timeout : {options_.voter_timeout, options_.learner_timeout}) {
    if (timeout.count() > 0) shortest = std::min(shortest, timeout);
  }
  auto period = std::clamp<std::chrono::nanoseconds>(shortest / 10, std::chrono::milliseconds(50),
                                                     std::chrono::seconds(1));
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    CallContained("reaper: a check", [this] { CheckOnce(Clock::now()); });
    lock.lock();
  }
}

std::vector<NodeId> Reaper::CheckOnce(Clock::time_point now) {
  std::vector<NodeId> reaped;
  if (!store_->is_leader()) {
    leader_since_.reset();
    first_seen_.clear();
    return reaped;
  }
  if (!leader_since_) leader_since_ = now;
  const raft::Membership membership = store_->status().raft.membership;
  const auto contacts = store_->LastContacts();
  const NodeId& self = store_->options().node_id;
  auto consider = [&](const NodeId& id, std::chrono::nanoseconds timeout) {
    if (id == self) return;
    Clock::time_point seen = first_seen_.emplace(id, now).first->second;
    if (timeout.count() <= 0) return;
    Clock::time_point last = std::max(seen, *leader_since_);
    if (auto contact = contacts.find(id); contact != contacts.end()) last = std::max(last, contact->second);
    if (now - last <= timeout) return;
    {
      std::lock_guard lock(*removing_mutex_);
      if (!removing_->insert(id).second) return;  // a removal is under way
    }
    RQ_LOG_WARN("reaper: removing node {}, unreachable for {} ms", id.value(),
                std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count());
    reaped.push_back(id);
    store_->Remove(id, [id, removing = removing_, removing_mutex = removing_mutex_](Status status) {
      if (status.ok()) {
        StoreCounters().nodes_reaped_ok.Add();
        RQ_LOG_INFO("reaper: node {} removed", id.value());
      } else {
        StoreCounters().nodes_reaped_failed.Add();
        RQ_LOG_WARN("reaper: removing node {} failed: {}", id.value(), status.ToString());
      }
      std::lock_guard lock(*removing_mutex);
      removing->erase(id);
    });
  };
  for (const NodeId& id : membership.voters) consider(id, options_.voter_timeout);
  for (const NodeId& id : membership.learners) consider(id, options_.learner_timeout);
  // Forget members that left, so a node re-added later starts afresh.
  for (auto it = first_seen_.begin(); it != first_seen_.end();) {
    it = membership.Contains(it->first) ? std::next(it) : first_seen_.erase(it);
  }
  return reaped;
}

}  // namespace rq::store
