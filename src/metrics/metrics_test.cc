#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace rq::metrics {
namespace {

struct QueueLikeMetrics {
  explicit QueueLikeMetrics(Registry& registry) : group("queue", registry) {}
  Group group;
  Counter& objects_rx = group.Key("objects_rx");
  Counter& num_timeout = group.Key("num_timeout");
};

TEST(MetricsRegistryTest, DeclaredKeysAppearAtZeroBeforeAnyEvent) {
  Registry registry;
  QueueLikeMetrics declared(registry);
  Values values = registry.Read();
  ASSERT_EQ(values.count("queue"), 1u);
  EXPECT_EQ(values["queue"], (std::map<std::string, int64_t>{{"num_timeout", 0}, {"objects_rx", 0}}));
}

TEST(MetricsRegistryTest, SameGroupAndKeyIsTheSameCounter) {
  Registry registry;
  Counter& first = registry.Find("store", "num_backups");
  Counter& again = registry.Find("store", "num_backups");
  EXPECT_EQ(&first, &again);
  first.Add(2);
  EXPECT_EQ(again.value(), 2);
  EXPECT_NE(&first, &registry.Find("db", "num_backups"));  // groups are separate maps
}

TEST(MetricsRegistryTest, CounterAddressesSurviveManyMoreKeys) {
  Registry registry;
  Counter& early = registry.Find("http", "executions");
  for (int i = 0; i < 1000; ++i) registry.Find("http", "key" + std::to_string(i)).Add();
  early.Add(5);
  EXPECT_EQ(registry.Read()["http"]["executions"], 5);
}

TEST(MetricsRegistryTest, ConcurrentAddsAreAllCounted) {
  Registry registry;
  constexpr int kThreads = 8;
  constexpr int kAddsPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      Counter& shared = registry.Find("db", "executions");  // found concurrently too
      for (int i = 0; i < kAddsPerThread; ++i) shared.Add();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(registry.Find("db", "executions").value(), int64_t{kThreads} * kAddsPerThread);
}

TEST(MetricsRegistryTest, SetOverwritesAndResetKeepsKeys) {
  Registry registry;
  Counter& duration = registry.Find("store", "snapshot_create_duration");
  duration.Set(40);
  duration.Set(7);
  EXPECT_EQ(duration.value(), 7);
  registry.Reset();
  Values values = registry.Read();
  EXPECT_EQ(values["store"]["snapshot_create_duration"], 0);
  EXPECT_EQ(values["store"].size(), 1u);
}

TEST(MetricsRegistryTest, ReadListsGroupsAndKeysSorted) {
  Registry registry;
  registry.Find("store", "b").Add();
  registry.Find("db", "z").Add(3);
  registry.Find("store", "a");
  Values values = registry.Read();
  std::vector<std::string> groups;
  for (const auto& [name, counters] : values) groups.push_back(name);
  EXPECT_EQ(groups, (std::vector<std::string>{"db", "store"}));
  EXPECT_EQ(values["store"].begin()->first, "a");
  EXPECT_EQ(values["db"]["z"], 3);
}

}  // namespace
}  // namespace rq::metrics
