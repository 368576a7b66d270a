// The sender against a sink that records (and can refuse) envelopes, with
// the "log" simulated: a proposed mark is applied at once, as the store
// would after commit.
#include "cdc/service.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace rq::cdc {
namespace {

using namespace std::chrono_literals;
using command::RowChange;
using command::RowOp;

struct RecordingSink final : Sink {
  struct Shared {
    std::mutex mu;
    std::vector<std::string> bodies;
    int refuse_next = 0;  // this many sends fail first
    int attempts = 0;
  };
  explicit RecordingSink(std::shared_ptr<Shared> s) : shared(std::move(s)) {}
  Status Send(const std::string& body) override {
    std::lock_guard lock(shared->mu);
    ++shared->attempts;
    if (shared->refuse_next > 0) {
      --shared->refuse_next;
      return Status::IOError("HTTP 500");
    }
    shared->bodies.push_back(body);
    return Status::OK();
  }
  std::shared_ptr<Shared> shared;
};

class CdcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cdc_service_" + std::to_string(::getpid()) + "_" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open(Config config) {
    service_.reset();
    ServiceOptions options;
    options.config = std::move(config);
    options.node_id = "1";
    options.dir = (dir_ / "cdc").string();
    options.sink = std::make_unique<RecordingSink>(sink_);
    options.is_leader = [this] { return leader_.load(); };
    options.propose_high_water_mark = [this](uint64_t index, std::function<void(Status)> done) {
      proposals_.fetch_add(1);
      service_->OnHighWaterMark(index);
      done(Status::OK());
    };
    options.follower_poll = 10ms;
    Result<std::unique_ptr<Service>> service = Service::Open(std::move(options));
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
  }
  static Config Fast() {
    Config c;
    c.endpoint = "stdout";
    c.max_batch_size = 2;
    c.max_batch_delay = 0ms;
    c.high_watermark_interval = 20ms;
    c.transmit_min_backoff = 1ms;
    c.transmit_max_backoff = 4ms;
    return c;
  }
  void Change(uint64_t index) {
    RowChange row{RowOp::kInsert, "foo", 0, static_cast<int64_t>(index), {"id"}, {}, {static_cast<int64_t>(index)}, ""};
    ASSERT_TRUE(service_->OnChanges(index, {row}).ok());
  }
  // Indexes of every payload entry delivered, in delivery order.
  std::vector<uint64_t> Delivered() {
    std::lock_guard lock(sink_->mu);
    std::vector<uint64_t> out;
    for (const std::string& body : sink_->bodies) {
      const boost::json::value parsed = boost::json::parse(body);
      for (const auto& entry : parsed.at("payload").as_array()) {
        out.push_back(entry.at("index").to_number<uint64_t>());
      }
    }
    return out;
  }
  bool WaitFor(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(10ms);
    return done();
  }

  std::filesystem::path dir_;
  std::shared_ptr<RecordingSink::Shared> sink_ = std::make_shared<RecordingSink::Shared>();
  std::atomic<bool> leader_{true};
  std::atomic<int> proposals_{0};
  std::unique_ptr<Service> service_;
};

TEST_F(CdcServiceTest, LeaderSendsInOrderInBatchesAndReplicatesTheMark) {
  Open(Fast());
  for (uint64_t i : {3, 4, 6, 8, 9}) Change(i);
  service_->Start();
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 5; }));
  EXPECT_EQ(Delivered(), (std::vector<uint64_t>{3, 4, 6, 8, 9}));
  {
    std::lock_guard lock(sink_->mu);
    for (const std::string& body : sink_->bodies) {
      EXPECT_LE(boost::json::parse(body).at("payload").as_array().size(), 2u) << body;
      EXPECT_EQ(boost::json::parse(body).at("node_id").as_string(), "1");
    }
  }
  ASSERT_TRUE(WaitFor([&] { return service_->status().high_water_mark == 9; }));
  EXPECT_EQ(service_->status().fifo_length, 0u) << "pruned to the mark";
  EXPECT_GE(proposals_.load(), 1);
}

TEST_F(CdcServiceTest, FollowerKeepsEventsAndSendsThemOnceItLeads) {
  leader_ = false;
  Open(Fast());
  service_->Start();
  Change(1);
  Change(2);
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(Delivered().empty());
  EXPECT_EQ(service_->status().fifo_length, 2u);
  // The old leader's mark reached this node: it starts after it.
  service_->OnHighWaterMark(1);
  leader_ = true;
  ASSERT_TRUE(WaitFor([&] { return !Delivered().empty(); }));
  EXPECT_EQ(Delivered(), std::vector<uint64_t>{2});
}

TEST_F(CdcServiceTest, RetriesUntilTheSinkTakesIt) {
  Open(Fast());
  sink_->refuse_next = 3;
  Change(5);
  service_->Start();
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 1; }));
  EXPECT_EQ(sink_->attempts, 4);
  EXPECT_EQ(Delivered(), std::vector<uint64_t>{5});
}

TEST_F(CdcServiceTest, MaxRetriesDropsTheBatchAndMovesOn) {
  Config config = Fast();
  config.transmit_max_retries = 2;
  config.max_batch_size = 1;
  Open(config);
  const int64_t dropped_before = ServiceCounters().dropped_failed_to_send.value();
  sink_->refuse_next = 2;
  Change(5);
  Change(6);
  service_->Start();
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 1; }));
  EXPECT_EQ(Delivered(), std::vector<uint64_t>{6});
  EXPECT_EQ(ServiceCounters().dropped_failed_to_send.value(), dropped_before + 1);
}

TEST_F(CdcServiceTest, ReplayedEntriesAreIgnoredAndUnsentOnesSurviveARestart) {
  Open(Fast());
  Change(1);
  Change(2);
  ASSERT_TRUE(service_->BeforeSnapshot(2).ok());
  Open(Fast());  // a restart: the store replays from its snapshot
  Change(2);
  Change(3);
  EXPECT_EQ(service_->status().fifo_length, 3u);
  service_->Start();
  ASSERT_TRUE(WaitFor([&] { return Delivered().size() == 3; }));
  EXPECT_EQ(Delivered(), (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace rq::cdc
