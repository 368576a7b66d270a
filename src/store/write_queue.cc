#include "store/write_queue.h"

#include <future>

#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "store/store_metrics.h"

namespace rq::store {

using SteadyClock = std::chrono::steady_clock;

WriteQueue::WriteQueue(Store* store, const WriteQueueOptions& options)
    : WriteQueue([store](command::Request request, const WriteOptions& write, Done done) {
                   store->Execute(std::move(request), write, std::move(done));
                 },
                 options) {}

WriteQueue::WriteQueue(ExecuteFn execute, const WriteQueueOptions& options)
    : execute_(std::move(execute)),
      options_(options),
      // Per-node and monotonic across restarts in practice, as rqlite's:
      // seeded from the start time in nanoseconds.
      next_sequence_(static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {
  committed_ = next_sequence_;  // nothing is outstanding yet
  thread_ = std::thread([this] {
    NameThisThread("write-queue");
    Run();
  });
}

WriteQueue::~WriteQueue() { Stop(); }

void WriteQueue::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  space_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<uint64_t> WriteQueue::Enqueue(command::Request request, const WriteOptions& options,
                                     std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mutex_);
  bool has_space = space_.wait_for(lock, timeout, [&] { return stopping_ || items_.size() < options_.capacity; });
  if (stopping_) return Status::Aborted("node is shutting down");
  if (!has_space) return Status::Timeout("queue full");
  uint64_t sequence = ++next_sequence_;
  QueueCounters().objects_rx.Add(static_cast<int64_t>(request.statements.size()));
  items_.push_back(Item{sequence, std::move(request), options});
  Series().write_queue_depth.Add();
  lock.unlock();
  wake_.notify_one();
  return sequence;
}

void WriteQueue::WaitForFlush(std::chrono::nanoseconds timeout, std::function<void(Status)> done) {
  std::unique_lock lock(mutex_);
  uint64_t target = next_sequence_;  // the last sequence handed out
  if (committed_ >= target) {
    lock.unlock();
    done(Status::OK());
    return;
  }
  waiters_.push_back(Waiter{target, SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(timeout),
                            std::move(done)});
  lock.unlock();
  wake_.notify_one();
}

uint64_t WriteQueue::committed_sequence() const {
  std::lock_guard lock(mutex_);
  return committed_;
}

std::vector<WriteQueue::Item> WriteQueue::TakeBatch() {
  std::vector<Item> batch;
  size_t statements = 0;
  while (!items_.empty() && statements < options_.batch_statements) {
    statements += items_.front().request.statements.size();
    batch.push_back(std::move(items_.front()));
    items_.pop_front();
    Series().write_queue_depth.Add(-1);
  }
  return batch;
}

void WriteQueue::Run() {
  for (;;) {
    std::vector<Item> batch;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      const bool full_or_stopping = wake_.wait_for(
          lock, options_.flush_after, [&] { return stopping_ || items_.size() >= options_.batch_statements; });
      stopping = stopping_;
      if (stopping && items_.empty()) break;
      batch = TakeBatch();
      if (!full_or_stopping && !batch.empty()) QueueCounters().num_timeout.Add();
    }
    space_.notify_all();
    if (!batch.empty()) CallContained("write queue: flushing a batch", [&] { Flush(std::move(batch)); });
    NotifyWaiters(SteadyClock::now());
  }
  NotifyWaiters(SteadyClock::time_point::max());
}

void WriteQueue::Flush(std::vector<Item> batch) {
  // Requests are combined into one entry only when they share their
  // rewriting options: a ?norwrandom request must not turn off the
  // rewriting of its neighbours (invariant 3).
  size_t begin = 0;
  while (begin < batch.size()) {
    size_t end = begin + 1;
    const WriteOptions& options = batch[begin].options;
    while (end < batch.size() && batch[end].options.noparse == options.noparse &&
           batch[end].options.norwrandom == options.norwrandom && batch[end].options.norwtime == options.norwtime) {
      ++end;
    }
    command::Request combined;
    combined.transaction = options_.transaction;
    for (size_t i = begin; i < end; ++i) {
      for (command::Statement& statement : batch[i].request.statements) {
        combined.statements.push_back(std::move(statement));
      }
    }
    QueueCounters().objects_tx.Add(static_cast<int64_t>(combined.statements.size()));
    uint64_t last_sequence = batch[end - 1].sequence;
    ExecuteUntilDone(combined, options, last_sequence);
    std::lock_guard lock(mutex_);
    committed_ = last_sequence;
    begin = end;
  }
}

// Retried every second while the batch certainly did not enter the log
// (rqlite's rule). An outcome that may have committed (timeout, leadership
// lost mid-write) is not retried: that could apply the batch twice.
bool WriteQueue::ExecuteUntilDone(const command::Request& request, const WriteOptions& options,
                                  uint64_t last_sequence) {
  for (;;) {
    auto promise = std::make_shared<std::promise<Status>>();
    auto future = promise->get_future();
    execute_(request, options, [promise](Result<command::Response> result) {
      promise->set_value(result.ok() ? Status::OK() : result.status());
    });
    Status status = future.get();
    if (status.ok()) return true;
    bool never_appended = status.IsNotLeader() || status.IsBusy() || status.code() == Status::Code::kUnavailable;
    if (!never_appended) {
      RQ_LOG_ERROR("queue: batch ending at sequence {} has an unknown outcome ({}); not retried", last_sequence,
                   status.ToString());
      return false;
    }
    RQ_LOG_WARN("queue: batch ending at sequence {} failed ({}); retrying", last_sequence, status.ToString());
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) return false;
  }
}

void WriteQueue::NotifyWaiters(SteadyClock::time_point now) {
  std::vector<std::pair<std::function<void(Status)>, Status>> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (committed_ >= it->sequence) {
        ready.emplace_back(std::move(it->done), Status::OK());
        it = waiters_.erase(it);
      } else if (it->deadline <= now) {
        ready.emplace_back(std::move(it->done), Status::Timeout("queue wait timeout"));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& [done, status] : ready) done(status);
}

}  // namespace rq::store
