// ReadPool: a few threads that run local reads (and other short blocking
// work) so the HTTP I/O threads never wait on SQLite.
//
// It starts with `threads` workers and adds one, up to `max_threads`,
// when a task arrives that no idle worker can take and no worker has
// started a task for kStuckAfter: the workers are held by slow queries (a
// client's recursive CTE), and every other read would wait behind them.
// Under a load of quick reads workers keep starting tasks, so the pool
// stays at `threads` (few threads on 2 cores). A worker beyond `threads`
// that has had nothing to do for `retire_after` exits.
//
// Thread-safety: Post is safe from any thread. Tasks run in FIFO order on
// whichever worker is free.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "store/raft_node.h"

namespace rq::store {

class ReadPool {
 public:
  static constexpr std::chrono::milliseconds kStuckAfter{100};

  static constexpr std::chrono::seconds kRetireAfter{30};

  // REQUIRES: 0 < threads <= max_threads, capacity > 0.
  ReadPool(int threads, int max_threads, size_t capacity,
           std::chrono::milliseconds retire_after = kRetireAfter);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // False when the queue is full or the pool is stopping; the task is not run.
  bool Post(std::function<void()> task);
  // Runs the queued tasks, then joins the workers.
  void Stop();
  // Workers running now (for tests and /status).
  size_t threads();

 private:
  void Work(uint64_t number);
  void AddWorker();  // REQUIRES: mutex_ held

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)
  size_t idle_ = 0;                          // GUARDED_BY(mutex_): workers waiting for a task
  size_t starting_ = 0;                      // GUARDED_BY(mutex_): workers added, not yet waiting
  std::chrono::steady_clock::time_point last_start_{};  // GUARDED_BY(mutex_): a worker last took a task
  const size_t capacity_;
  const size_t base_threads_;
  const size_t max_threads_;
  const std::chrono::milliseconds retire_after_;
  uint64_t next_number_ = 0;                 // GUARDED_BY(mutex_)
  std::map<uint64_t, std::thread> workers_;  // GUARDED_BY(mutex_)
  // Workers that exited by themselves, joined by the next AddWorker or Stop.
  std::vector<std::thread> retired_;         // GUARDED_BY(mutex_)
};

// The transport of a node with no peers: drops everything. Replaced by the
// cluster transport when peers exist.
class NullTransport final : public Transport {
 public:
  void Send(std::vector<raft::Message>) override {}
};

}  // namespace rq::store
