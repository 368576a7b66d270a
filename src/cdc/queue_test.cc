#include "cdc/queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace rq::cdc {
namespace {

class CdcQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cdc_queue_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Queue> Open() {
    Result<std::unique_ptr<Queue>> q = Queue::Open((dir_ / "cdc").string());
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    return q.ok() ? std::move(q).value() : nullptr;
  }
  std::filesystem::path dir_;
};

TEST_F(CdcQueueTest, AppendsOnceReadsInOrderPrunesToTheMark) {
  auto q = Open();
  ASSERT_TRUE(q);
  EXPECT_TRUE(*q->Append(3, "a"));
  EXPECT_TRUE(*q->Append(5, "b"));
  EXPECT_FALSE(*q->Append(5, "again")) << "a replayed index is queued once";
  EXPECT_FALSE(*q->Append(4, "older"));
  EXPECT_TRUE(*q->Append(9, "c"));
  Result<std::vector<QueuedEntry>> read = q->ReadAfter(3, 10);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].index, 5u);
  EXPECT_EQ((*read)[0].json, "b");
  EXPECT_EQ(q->ReadAfter(0, 1)->size(), 1u);
  ASSERT_TRUE(q->SetHighWaterMark(5).ok());
  EXPECT_EQ(q->length(), 1u);
  EXPECT_EQ(q->ReadAfter(0, 10)->front().index, 9u);
  ASSERT_TRUE(q->SetHighWaterMark(4).ok()) << "a lower mark is ignored";
  EXPECT_EQ(q->high_water_mark(), 5u);
}

TEST_F(CdcQueueTest, SurvivesReopenWithTheMarkAndTheEntries) {
  {
    auto q = Open();
    ASSERT_TRUE(q);
    ASSERT_TRUE(q->Append(10, "x").ok());
    ASSERT_TRUE(q->Append(11, "y").ok());
    ASSERT_TRUE(q->SetHighWaterMark(10).ok());
    ASSERT_TRUE(q->Sync().ok());
  }
  auto q = Open();
  ASSERT_TRUE(q);
  EXPECT_EQ(q->high_water_mark(), 10u);
  EXPECT_EQ(q->last_index(), 11u);
  EXPECT_EQ(q->length(), 1u);
  EXPECT_FALSE(*q->Append(11, "y"));
  EXPECT_EQ(q->ReadAfter(q->high_water_mark(), 10)->at(0).json, "y");
}

TEST_F(CdcQueueTest, MarkAloneMovesTheAppendFloor) {
  auto q = Open();
  ASSERT_TRUE(q);
  // A node that installed a snapshot learns a mark before any event.
  ASSERT_TRUE(q->SetHighWaterMark(100).ok());
  EXPECT_FALSE(*q->Append(90, "old"));
  EXPECT_TRUE(*q->Append(101, "new"));
}

TEST_F(CdcQueueTest, UnwritableDirectoryIsAClearError) {
  std::filesystem::create_directories(dir_);
  { std::ofstream(dir_ / "cdc") << "a file, not a directory"; }
  Result<std::unique_ptr<Queue>> q = Queue::Open((dir_ / "cdc").string());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("cdc"), std::string::npos) << q.status().ToString();
}

}  // namespace
}  // namespace rq::cdc
