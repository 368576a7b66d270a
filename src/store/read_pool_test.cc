#include "store/read_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace rq::store {
namespace {

using namespace std::chrono_literals;

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Two workers held by slow reads; the pool adds one for the read behind
// them, and lets it go once it has been idle for retire_after.
TEST(ReadPoolTest, GrowsPastHeldWorkersAndShrinksBackWhenIdle) {
  ReadPool pool(2, 4, 16, 200ms);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.Post([&running, released] {
      ++running;
      released.wait();
    }));
  }
  ASSERT_TRUE(WaitUntil([&] { return running == 2; }));
  std::this_thread::sleep_for(ReadPool::kStuckAfter + 20ms);
  std::promise<void> quick_ran;
  ASSERT_TRUE(pool.Post([&] { quick_ran.set_value(); }));
  EXPECT_EQ(quick_ran.get_future().wait_for(5s), std::future_status::ready) << "the read waited behind slow ones";
  EXPECT_EQ(pool.threads(), 3u);
  release.set_value();
  EXPECT_TRUE(WaitUntil([&] { return pool.threads() == 2; })) << pool.threads();
  // The two it started with stay, and still serve.
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(pool.threads(), 2u);
  std::promise<void> later;
  ASSERT_TRUE(pool.Post([&] { later.set_value(); }));
  EXPECT_EQ(later.get_future().wait_for(5s), std::future_status::ready);
  pool.Stop();
  EXPECT_FALSE(pool.Post([] {}));
}

TEST(ReadPoolTest, StopRunsWhatIsQueuedWhileAWorkerRetires) {
  for (int round = 0; round < 20; ++round) {
    ReadPool pool(1, 3, 64, 1ms);
    std::atomic<int> ran{0};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    ASSERT_TRUE(pool.Post([released] { released.wait(); }));
    std::this_thread::sleep_for(ReadPool::kStuckAfter + 10ms);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.Post([&] { ++ran; }));
    release.set_value();
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 5));
    pool.Stop();
    EXPECT_EQ(ran, 10);
  }
}

}  // namespace
}  // namespace rq::store
