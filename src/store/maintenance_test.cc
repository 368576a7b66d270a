#include "store/maintenance.h"

#include <gtest/gtest.h>

#include "env/mem_file_system.h"

namespace rq::store {
namespace {

using namespace std::chrono_literals;
using Clock = MaintenanceSchedule::Clock;

TEST(MaintenanceScheduleTest, ANewNodeStartsCountingNowAndKeepsItsTimesAcrossRestarts) {
  env::MemFileSystem fs;
  const Clock::time_point t0 = Clock::time_point(1'700'000'000'000ms);
  auto schedule = MaintenanceSchedule::Load(&fs, "maintenance", 1h, 24h, t0);
  ASSERT_TRUE(schedule.ok()) << schedule.status().ToString();
  EXPECT_TRUE(schedule->Due(t0 + 59min).empty());  // not at once on a new node
  EXPECT_EQ(schedule->Due(t0 + 1h), std::vector<MaintenanceTask>{MaintenanceTask::kVacuum});
  EXPECT_EQ(schedule->Due(t0 + 25h), (std::vector<MaintenanceTask>{MaintenanceTask::kVacuum, MaintenanceTask::kOptimize}));
  ASSERT_TRUE(schedule->Record(MaintenanceTask::kVacuum, t0 + 1h).ok());

  // A restart much later keeps the recorded times, not the restart's.
  auto reloaded = MaintenanceSchedule::Load(&fs, "maintenance", 1h, 24h, t0 + 10h);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(*reloaded->last(MaintenanceTask::kVacuum), t0 + 1h);
  EXPECT_EQ(*reloaded->last(MaintenanceTask::kOptimize), t0);
  EXPECT_EQ(reloaded->Due(t0 + 10h), std::vector<MaintenanceTask>{MaintenanceTask::kVacuum});
}

TEST(MaintenanceScheduleTest, AZeroIntervalIsOff) {
  env::MemFileSystem fs;
  const Clock::time_point t0 = Clock::now();
  auto schedule = MaintenanceSchedule::Load(&fs, "maintenance", 0ms, 0ms, t0);
  ASSERT_TRUE(schedule.ok());
  EXPECT_TRUE(schedule->Due(t0 + 10000h).empty());
}

TEST(MaintenanceScheduleTest, AGarbledFileCountsFromNow) {
  env::MemFileSystem fs;
  ASSERT_TRUE(fs.WriteFileAtomic("maintenance", "vacuum notanumber\n\x01\x02").ok());
  const Clock::time_point t0 = Clock::now();
  auto schedule = MaintenanceSchedule::Load(&fs, "maintenance", 1h, 1h, t0);
  ASSERT_TRUE(schedule.ok());
  EXPECT_TRUE(schedule->Due(t0 + 30min).empty());
  EXPECT_EQ(schedule->Due(t0 + 1h).size(), 2u);
}

}  // namespace
}  // namespace rq::store
