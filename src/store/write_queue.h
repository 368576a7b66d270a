// WriteQueue: rqlite's queued writes (API.md 4.1). Requests are acknowledged
// at once with a sequence number and executed later in batches, each batch
// one Raft entry; a failed batch is retried every second until it commits.
// Queued data is lost if the node crashes before the batch commits (as in
// rqlite: the client chose that trade).
//
// Thread-safety: all public methods are safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "command/types.h"
#include "store/store.h"

namespace rq::store {

struct WriteQueueOptions {
  size_t capacity = 1024;        // -write-queue-capacity (requests)
  size_t batch_statements = 128;  // -write-queue-batch-size
  std::chrono::milliseconds flush_after{50};  // -write-queue-timeout
  bool transaction = false;       // -write-queue-tx
};

class WriteQueue {
 public:
  // How a batch is executed: on the leader, or forwarded to it.
  using ExecuteFn = std::function<void(command::Request, const WriteOptions&, Done)>;
  WriteQueue(ExecuteFn execute, const WriteQueueOptions& options);
  // Executes on `store` directly (a node that is always the leader; tests).
  // The store must outlive the queue.
  WriteQueue(Store* store, const WriteQueueOptions& options);
  ~WriteQueue();
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Blocks while the queue is full (as rqlite does), up to `timeout`.
  // Returns the request's sequence number.
  Result<uint64_t> Enqueue(command::Request request, const WriteOptions& options,
                           std::chrono::nanoseconds timeout);
  // Calls done(OK) once everything enqueued before this call has committed,
  // or done(Timeout) after `timeout`. Never blocks the caller.
  void WaitForFlush(std::chrono::nanoseconds timeout, std::function<void(Status)> done);

  // The highest sequence number whose batch has committed.
  uint64_t committed_sequence() const;
  // Flushes what was already acknowledged as queued, then stops.
  void Stop();

 private:
  struct Item {
    uint64_t sequence;
    command::Request request;
    WriteOptions options;
  };
  struct Waiter {
    uint64_t sequence;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Status)> done;
  };
  void Run();
  std::vector<Item> TakeBatch();
  void Flush(std::vector<Item> batch);
  bool ExecuteUntilDone(const command::Request& request, const WriteOptions& options, uint64_t last_sequence);
  void NotifyWaiters(std::chrono::steady_clock::time_point now);

  ExecuteFn execute_;
  WriteQueueOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable space_;
  std::deque<Item> items_;       // GUARDED_BY(mutex_)
  std::vector<Waiter> waiters_;  // GUARDED_BY(mutex_)
  uint64_t next_sequence_;       // GUARDED_BY(mutex_)
  uint64_t committed_ = 0;       // GUARDED_BY(mutex_): batches commit in sequence order
  bool stopping_ = false;        // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace rq::store
