// ReadPool: a few threads that run local reads (and other short blocking
// work) so the HTTP I/O threads never wait on SQLite.
//
// Thread-safety: Post is safe from any thread. Tasks run in FIFO order on
// whichever worker is free.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "store/raft_node.h"

namespace rq::store {

class ReadPool {
 public:
  // REQUIRES: threads > 0, capacity > 0.
  ReadPool(int threads, size_t capacity);
  ~ReadPool();
  ReadPool(const ReadPool&) = delete;
  ReadPool& operator=(const ReadPool&) = delete;

  // False when the queue is full or the pool is stopping; the task is not run.
  bool Post(std::function<void()> task);
  // Runs the queued tasks, then joins the workers.
  void Stop();

 private:
  void Work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)
  size_t capacity_;
  std::vector<std::thread> workers_;
};

// The transport of a node with no peers: drops everything. Replaced by the
// cluster transport when peers exist.
class NullTransport final : public Transport {
 public:
  void Send(std::vector<raft::Message>) override {}
};

}  // namespace rq::store
