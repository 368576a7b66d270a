// Store's read path: Query's consistency levels (none with freshness, weak,
// linearizable through ReadIndex, strong through the log), reads that wait for
// an applied index, and /db/request's choice between a read and a write.
#include "store/store.h"

#include "store/store_internal.h"

namespace rq::store {

using internal::ErrorResponse;
using internal::SteadyClock;

namespace {

// A read through the log is rewritten like a write.
WriteOptions RewritingOf(const ReadOptions& options) {
  WriteOptions write;
  write.noparse = options.noparse;
  write.norwrandom = options.norwrandom;
  write.norwtime = options.norwtime;
  return write;
}

}  // namespace

void Store::RunRead(command::Request request, Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  bool posted = read_pool_->Post([this, request = std::move(request), shared_done]() {
    (*shared_done)(db_->Query(request));
  });
  if (!posted) (*shared_done)(Status::Busy("too many concurrent reads"));
}

void Store::ReadAfterIndex(command::Request request, LogIndex index, Done done,
                           SteadyClock::time_point stale_after) {
  auto shared = std::make_shared<std::pair<command::Request, Done>>(std::move(request), std::move(done));
  std::unique_lock lock(apply_mutex_);
  if (applied_ >= index) {
    lock.unlock();
    RunRead(std::move(shared->first), std::move(shared->second));
    return;
  }
  if (stale_after == SteadyClock::time_point::max()) {
    apply_waiters_.emplace(index, [this, shared]() { RunRead(std::move(shared->first), std::move(shared->second)); });
    return;
  }
  // Whichever comes first answers: the index applied, or the deadline
  // (checked by the apply loop, at least once a second).
  auto answered = std::make_shared<std::atomic<bool>>(false);
  apply_waiters_.emplace(index, [this, shared, answered]() {
    if (!answered->exchange(true)) RunRead(std::move(shared->first), std::move(shared->second));
  });
  stale_deadlines_.emplace(stale_after, [shared, answered]() {
    if (!answered->exchange(true)) shared->second(ErrorResponse("stale read"));
  });
}

void Store::ExpireStaleReads(SteadyClock::time_point now) {
  std::vector<std::function<void()>> expired;
  {
    std::lock_guard lock(apply_mutex_);
    auto end = stale_deadlines_.upper_bound(now);
    for (auto it = stale_deadlines_.begin(); it != end; ++it) expired.push_back(std::move(it->second));
    stale_deadlines_.erase(stale_deadlines_.begin(), end);
  }
  for (auto& answer : expired) answer();
}

void Store::Query(command::Request request, const ReadOptions& options, Done done) {
  command::Consistency level = options.level;
  if (level == command::Consistency::kAuto) {
    bool voter = raft_node_->state().membership.IsVoter(options_.node_id);
    level = voter ? command::Consistency::kWeak : command::Consistency::kNone;
  }
  switch (level) {
    case command::Consistency::kNone:
      // freshness bounds how long ago a follower last heard from the leader
      // (ignored on the leader and when zero). freshness_strict also needs
      // the data itself that fresh: the read waits until everything the
      // leader had committed by then is applied here. (rqlite compares the
      // leader's append timestamp with the local clock; this needs no
      // synchronized clocks.)
      if (options.freshness.count() > 0 && !raft_node_->is_leader()) {
        if (SteadyClock::now() - raft_node_->last_leader_contact() >= options.freshness) {
          done(ErrorResponse("stale read"));
          return;
        }
        if (options.freshness_strict) {
          ReadAfterIndex(std::move(request), raft_node_->state().commit, std::move(done),
                         raft_node_->last_leader_contact() + options.freshness);
          return;
        }
      }
      RunRead(std::move(request), std::move(done));
      return;
    case command::Consistency::kWeak:
    case command::Consistency::kAuto:
      if (!raft_node_->is_leader()) {
        done(Status::NotLeader("not leader"));
        return;
      }
      RunRead(std::move(request), std::move(done));
      return;
    case command::Consistency::kLinearizable: {
      auto shared = std::make_shared<std::pair<command::Request, Done>>(std::move(request), std::move(done));
      raft_node_->ReadIndex([this, shared](Result<LogIndex> index) {
        if (!index.ok()) {
          shared->second(index.status());
          return;
        }
        ReadAfterIndex(std::move(shared->first), *index, std::move(shared->second));
      });
      return;
    }
    case command::Consistency::kStrong: {
      ProposeRequest(command::CommandType::kQuery, std::move(request), RewritingOf(options), std::move(done));
      return;
    }
  }
}

void Store::Request(command::Request request, const ReadOptions& options, Done done) {
  Result<bool> read_only = db_->IsReadOnly(request);
  bool through_log = options.level == command::Consistency::kStrong || !read_only.ok() || !*read_only;
  if (!through_log) {
    Query(std::move(request), options, std::move(done));
    return;
  }
  ProposeRequest(command::CommandType::kExecuteQuery, std::move(request), RewritingOf(options), std::move(done));
}

}  // namespace rq::store
