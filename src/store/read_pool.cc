#include "store/read_pool.h"

#include "base/assert.h"
#include "base/contain.h"
#include "base/thread_name.h"
#include "store/store_metrics.h"

namespace rq::store {

ReadPool::ReadPool(int threads, int max_threads, size_t capacity, std::chrono::milliseconds retire_after)
    : capacity_(capacity),
      base_threads_(static_cast<size_t>(threads)),
      max_threads_(static_cast<size_t>(max_threads)),
      retire_after_(retire_after) {
  RQ_ASSERT(threads > 0 && threads <= max_threads);
  RQ_ASSERT(capacity > 0);
  std::lock_guard lock(mutex_);
  for (int i = 0; i < threads; ++i) AddWorker();
}

ReadPool::~ReadPool() { Stop(); }

void ReadPool::AddWorker() {
  // A retired worker has let go of the mutex for good: joining here is short.
  for (std::thread& done : retired_) done.join();
  retired_.clear();
  ++starting_;
  Series().read_pool_workers.Add();
  const uint64_t n = next_number_++;
  workers_.emplace(n, std::thread([this, n] {
                     NameThisThread("read-" + std::to_string(n));
                     Work(n);
                   }));
}

bool ReadPool::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || tasks_.size() >= capacity_) return false;
    tasks_.push_back(std::move(task));
    Series().read_pool_queued.Add();
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
  std::map<uint64_t, std::thread> workers;
  std::vector<std::thread> retired;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // Workers no longer retire once stopping, so the set is final.
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
    retired.swap(retired_);
  }
  Series().read_pool_workers.Add(-static_cast<int64_t>(workers.size()));
  for (auto& [n, worker] : workers) {
    if (worker.joinable()) worker.join();
  }
  for (std::thread& worker : retired) worker.join();
}

size_t ReadPool::threads() {
  std::lock_guard lock(mutex_);
  return workers_.size();
}

void ReadPool::Work(uint64_t number) {
  bool started = false;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      if (!started) --starting_;  // counted in idle_ from here on
      started = true;
      ++idle_;
      const bool woken = wake_.wait_for(lock, retire_after_, [&] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (!woken) {
        if (workers_.size() <= base_threads_) continue;
        // One of the extra workers, idle for retire_after: the slow reads
        // that called for it are over.
        auto self = workers_.find(number);
        retired_.push_back(std::move(self->second));
        workers_.erase(self);
        Series().read_pool_workers.Add(-1);
        return;
      }
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
      last_start_ = std::chrono::steady_clock::now();
    }
    Series().read_pool_queued.Add(-1);
    Series().read_pool_busy.Add();
    CallContained("read pool: a read", task);
    Series().read_pool_busy.Add(-1);
  }
}

}  // namespace rq::store
