// Store's read path: Query's consistency levels (none with freshness, weak,
// linearizable through ReadIndex, strong through the log), reads that wait for
// an applied index, and /db/request's choice between a read and a write.
#include "store/store.h"

#include "base/io_thread.h"
#include "store/store_internal.h"

namespace rq::store {

using internal::DeadlineAfter;
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
  // A read that is quick (a point SELECT) costs less than the two thread
  // handoffs of running it in the pool; QueryQuickly never waits, and gives
  // back what it cannot finish within tight limits.
  if (OnIoThread()) {
    if (std::optional<command::Response> quick = db_->QueryQuickly(request)) {
      done(std::move(*quick));
      return;
    }
  }
  auto shared_done = std::make_shared<Done>(std::move(done));
  bool posted = read_pool_->Post([this, request = std::move(request), shared_done]() {
    (*shared_done)(db_->Query(request));
  });
  if (!posted) (*shared_done)(Status::Busy("too many concurrent reads"));
}

void Store::ReadAfterIndex(command::Request request, LogIndex index, Done done,
                           SteadyClock::time_point stale_after, std::string stale_error) {
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
  stale_deadlines_.emplace(stale_after, [shared, answered, stale_error = std::move(stale_error)]() {
    if (!answered->exchange(true)) shared->second(ErrorResponse(stale_error));
  });
  lock.unlock();
  apply_wake_.notify_one();  // the apply loop sleeps until the earliest deadline
}

void Store::ExpireStaleReads(SteadyClock::time_point now) {
  std::vector<std::function<void()>> expired;
  std::vector<SyncRead> due;
  {
    std::lock_guard lock(apply_mutex_);
    auto end = stale_deadlines_.upper_bound(now);
    for (auto it = stale_deadlines_.begin(); it != end; ++it) expired.push_back(std::move(it->second));
    stale_deadlines_.erase(stale_deadlines_.begin(), end);
    due = TakeDueSyncReads(now);
  }
  for (auto& answer : expired) answer();
  AnswerSyncReads(std::move(due));
}

void Store::AnswerSyncReads(std::vector<SyncRead> reads) {
  for (SyncRead& read : reads) {
    bool applied;
    {
      std::lock_guard lock(apply_mutex_);
      applied = applied_ >= read.options.sync_index;
    }
    if (applied) {
      QueryAtLevel(std::move(read.request), read.options, std::move(read.done));
    } else if (stopped_.load()) {
      read.done(Status::Aborted("node is shutting down"));
    } else {
      read.done(ErrorResponse("timed out waiting for this node to apply index " +
                              std::to_string(read.options.sync_index.value())));
    }
  }
}

void Store::Query(command::Request request, const ReadOptions& options, Done done) {
  // Only a read served here waits here: one the leader must serve goes to
  // it at once, carrying sync_index (strong reads go through the log, after
  // every committed index anyway).
  const bool served_elsewhere = options.level != command::Consistency::kNone &&
                                options.level != command::Consistency::kAuto && !raft_node_->is_leader() &&
                                !(options.level == command::Consistency::kLinearizable && remote_read_index_);
  if (options.sync_index == LogIndex(0) || options.level == command::Consistency::kStrong || served_elsewhere) {
    QueryAtLevel(std::move(request), options, std::move(done));
    return;
  }
  std::unique_lock lock(apply_mutex_);
  if (applied_ >= options.sync_index) {
    lock.unlock();
    QueryAtLevel(std::move(request), options, std::move(done));
    return;
  }
  if (sync_reads_.size() >= internal::kSyncReadsMax) {
    lock.unlock();
    done(Status::Busy("too many reads waiting for an index to be applied"));
    return;
  }
  const auto deadline = DeadlineAfter(options.sync_timeout);
  sync_reads_.emplace(options.sync_index, SyncRead{std::move(request), options, std::move(done), deadline});
  lock.unlock();
  apply_wake_.notify_one();  // the apply loop sleeps until the earliest deadline
}

std::vector<Store::SyncRead> Store::TakeDueSyncReads(SteadyClock::time_point now) {
  std::vector<SyncRead> due;
  for (auto it = sync_reads_.begin(); it != sync_reads_.end();) {
    if (it->first <= applied_ || it->second.deadline <= now) {
      due.push_back(std::move(it->second));
      it = sync_reads_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

void Store::QueryAtLevel(command::Request request, const ReadOptions& options, Done done) {
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
      if (!raft_node_->is_leader() && remote_read_index_ && LeaderAddress().has_value()) {
        // ReadIndex served by a follower (Raft dissertation 6.4.1): the
        // leader confirms its leadership with a quorum and names its commit
        // index; every write acknowledged before this read is at or below
        // it, so once this node has applied it, its own file answers.
        const auto timeout = options.linearizable_timeout;
        AskReadIndex(timeout, [this, shared, timeout](Result<LogIndex> index) {
          if (!index.ok()) {
            shared->second(index.status());
            return;
          }
          ReadAfterIndex(std::move(shared->first), *index, std::move(shared->second), DeadlineAfter(timeout),
                         "timed out waiting for this node to apply the read index " + std::to_string(index->value()));
        });
        return;
      }
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

void Store::AskReadIndex(std::chrono::nanoseconds timeout, std::function<void(Result<LogIndex>)> done) {
  {
    std::lock_guard lock(read_index_mutex_);
    if (read_index_in_flight_) {
      if (read_index_waiting_.size() >= internal::kReadIndexWaitersMax) {
        done(Status::Busy("too many linearizable reads waiting for a read index"));
        return;
      }
      read_index_waiting_.emplace_back(timeout, std::move(done));
      read_index_waiting_timeout_ = std::min(read_index_waiting_timeout_, timeout);
      return;
    }
    read_index_in_flight_ = true;
  }
  ReadIndexBatch batch;
  batch.emplace_back(timeout, std::move(done));
  SendReadIndexAsk(timeout, std::move(batch));
}

void Store::SendReadIndexAsk(std::chrono::nanoseconds timeout, ReadIndexBatch batch) {
  auto shared = std::make_shared<ReadIndexBatch>(std::move(batch));
  // The batch waits as long as the most impatient of its reads.
  remote_read_index_(timeout, [this, shared](Result<LogIndex> index) {
    for (auto& [timeout, done] : *shared) done(index);
    ReadIndexBatch next;
    std::chrono::nanoseconds next_timeout;
    {
      std::lock_guard lock(read_index_mutex_);
      next.swap(read_index_waiting_);
      next_timeout = read_index_waiting_timeout_;
      read_index_waiting_timeout_ = std::chrono::hours(24);
      read_index_in_flight_ = !next.empty();
    }
    if (!next.empty()) SendReadIndexAsk(next_timeout, std::move(next));
  });
}

void Store::LeaderReadIndex(std::function<void(Result<LogIndex>)> done) {
  // On a follower the core answers NotLeader; the asking follower's RPC
  // deadline bounds the wait for a quorum.
  raft_node_->ReadIndex(std::move(done));
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
