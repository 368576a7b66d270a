#include "store/read_pool.h"

#include "base/assert.h"
#include "base/contain.h"
#include "base/thread_name.h"

namespace rq::store {

ReadPool::ReadPool(int threads, size_t capacity) : capacity_(capacity) {
  RQ_ASSERT(threads > 0);
  RQ_ASSERT(capacity > 0);
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      NameThisThread("read-" + std::to_string(i));
      Work();
    });
  }
}

ReadPool::~ReadPool() { Stop(); }

bool ReadPool::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || tasks_.size() >= capacity_) return false;
    tasks_.push_back(std::move(task));
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
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    CallContained("read pool: a read", task);
  }
}

}  // namespace rq::store
