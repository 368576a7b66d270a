#include "store/read_pool.h"

#include "base/assert.h"
#include "base/contain.h"
#include "base/thread_name.h"

namespace rq::store {

ReadPool::ReadPool(int threads, int max_threads, size_t capacity)
    : capacity_(capacity), max_threads_(static_cast<size_t>(max_threads)) {
  RQ_ASSERT(threads > 0 && threads <= max_threads);
  RQ_ASSERT(capacity > 0);
  std::lock_guard lock(mutex_);
  for (int i = 0; i < threads; ++i) AddWorker();
}

ReadPool::~ReadPool() { Stop(); }

void ReadPool::AddWorker() {
  ++starting_;
  const size_t n = workers_.size();
  workers_.emplace_back([this, n] {
    NameThisThread("read-" + std::to_string(n));
    Work();
  });
}

bool ReadPool::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || tasks_.size() >= capacity_) return false;
    tasks_.push_back(std::move(task));
    // Enough new workers for every queued task (the oldest go first, so one
    // new worker would only take the task queued before this one).
    if (tasks_.size() > idle_ + starting_ && std::chrono::steady_clock::now() - last_start_ >= kStuckAfter) {
      while (tasks_.size() > idle_ + starting_ && workers_.size() < max_threads_) AddWorker();
    }
  }
  wake_.notify_one();
  return true;
}

void ReadPool::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void ReadPool::Work() {
  bool started = false;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      if (!started) --starting_;  // counted in idle_ from here on
      started = true;
      ++idle_;
      wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
      last_start_ = std::chrono::steady_clock::now();
    }
    CallContained("read pool: a read", task);
  }
}

}  // namespace rq::store
