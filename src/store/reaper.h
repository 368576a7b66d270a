// Reaper: on the leader, removes members it has not heard from for longer
// than -raft-reap-node-timeout (voters) or -raft-reap-read-only-node-timeout
// (non-voters) (API.md 4.5). The clock restarts whenever this node becomes
// leader, and for a member when it first appears, so neither a new leader
// nor a node that just joined reaps anyone early.
//
// Thread-safety: owns one thread between Start() and Stop(); Start/Stop from
// one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "store/store.h"

namespace rq::store {

struct ReaperOptions {
  std::chrono::nanoseconds voter_timeout{0};    // 0: voters are never reaped
  std::chrono::nanoseconds learner_timeout{0};  // 0: non-voters are never reaped
};

class Reaper {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: `store` outlives the Reaper.
  Reaper(Store* store, ReaperOptions options);
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  void Start();
  void Stop();

  // One pass at `now` (the thread's body; tests call it directly). Returns
  // the members it asked the store to remove.
  std::vector<NodeId> CheckOnce(Clock::time_point now);

 private:
  void Run();

  Store* store_;
  ReaperOptions options_;
  std::optional<Clock::time_point> leader_since_;
  std::map<NodeId, Clock::time_point> first_seen_;
  std::shared_ptr<std::mutex> removing_mutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::set<NodeId>> removing_ = std::make_shared<std::set<NodeId>>();  // GUARDED_BY(*removing_mutex_)

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace rq::store
