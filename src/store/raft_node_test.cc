// RaftNode driving a leader whose two followers are played by the test:
// what reaches the applier, the log and the wire, and in which order.
#include "store/raft_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raft/log_storage.h"
#include "raft/logger.h"

namespace rq::store {
namespace {

using namespace std::chrono_literals;

// Everything the node did, in order, shared by the fakes below.
class Journal {
 public:
  void Add(std::string event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    changed_.notify_all();
  }
  void AddMessages(std::vector<raft::Message> messages) {
    {
      std::lock_guard lock(mutex_);
      for (raft::Message& m : messages) messages_.push_back(std::move(m));
    }
    changed_.notify_all();
  }
  bool Has(const std::string& event) {
    std::lock_guard lock(mutex_);
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }
  // Waits until `event` was recorded; its position, or -1 after a timeout.
  int WaitFor(const std::string& event) {
    std::unique_lock lock(mutex_);
    int position = -1;
    changed_.wait_for(lock, 10s, [&] {
      auto it = std::find(events_.begin(), events_.end(), event);
      if (it != events_.end()) position = static_cast<int>(it - events_.begin());
      return position >= 0;
    });
    return position;
  }
  // Waits until a sent message matches; a copy of it, or nullopt.
  template <typename Pred>
  std::optional<raft::Message> WaitForMessage(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    std::optional<raft::Message> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const raft::Message& m : messages_) {
        if (pred(m)) found = m;
      }
      return found.has_value();
    });
    return found;
  }
  std::vector<raft::Message> TakeMessages() {
    std::lock_guard lock(mutex_);
    return std::exchange(messages_, {});
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  std::vector<raft::Message> messages_;
};

class FakePersister final : public LogPersister {
 public:
  explicit FakePersister(Journal* journal) : journal_(journal) {}
  Status Persist(const raft::Ready& ready) override {
    if (ready.hard_state) storage_.SetHardState(*ready.hard_state);
    if (!ready.entries.empty()) {
      storage_.Append(ready.entries);
      journal_->Add("persist " + std::to_string(ready.entries.back().index.value()));
    }
    return Status::OK();
  }
  raft::LogStorage* storage() override { return &storage_; }

 private:
  Journal* journal_;
  raft::MemoryLogStorage storage_;
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(Journal* journal) : journal_(journal) {}
  void Send(std::vector<raft::Message> messages) override { journal_->AddMessages(std::move(messages)); }

 private:
  Journal* journal_;
};

class FakeApplier final : public Applier {
 public:
  explicit FakeApplier(Journal* journal) : journal_(journal) {}
  void Enqueue(std::vector<raft::Entry> entries) override {
    last_thread_ = std::this_thread::get_id();
    for (const raft::Entry& e : entries) journal_->Add("apply " + std::to_string(e.index.value()));
  }
  std::thread::id last_thread() const { return last_thread_; }
  void InstallSnapshot(const raft::SnapshotMeta&) override {}

 private:
  Journal* journal_;
  std::atomic<std::thread::id> last_thread_;
};

bool IsEmptyAppendTo(const raft::Message& m, const char* to) {
  const auto* append = std::get_if<raft::AppendRequest>(&m.body);
  return append != nullptr && append->entries.empty() && m.to == NodeId(to);
}

raft::Message AckFrom(const char* from, Term term, uint64_t match) {
  return raft::Message{NodeId(from), NodeId("1"), term, raft::AppendResponse{true, LogIndex(match), Term(0), 0}};
}

// Node "1" of {1, 2, 3}, made leader by votes the test casts; bootstrap
// entries 1-3 and the leader's noop (4) are committed and applied.
class RaftNodeLeaderTest : public ::testing::Test {
 protected:
  void StartLeader(std::chrono::milliseconds tick, std::chrono::milliseconds commit_notice_delay = 1h) {
    RaftNode::Options options;
    options.raft.id = NodeId("1");
    options.raft.pre_vote = false;
    options.raft.check_quorum = false;  // the fake followers answer only when told
    options.raft.election_ticks = 1000;
    options.tick = tick;
    options.commit_notice_delay = commit_notice_delay;
    node_ = std::make_unique<RaftNode>(options, &persister_, &transport_, &applier_, &logger_);
    std::vector<raft::ConfigChange> members;
    for (const char* id : {"1", "2", "3"}) members.push_back({raft::ConfigChangeType::kAddVoter, NodeId(id), ""});
    ASSERT_TRUE(node_->Bootstrap(members).ok());
    node_->Start();
    node_->Campaign();
    auto vote = journal_.WaitForMessage([](const raft::Message& m) { return std::holds_alternative<raft::VoteRequest>(m.body); });
    ASSERT_TRUE(vote.has_value());
    term_ = vote->term;
    node_->Step(raft::Message{NodeId("2"), NodeId("1"), term_, raft::VoteResponse{true, false}});
    ASSERT_GE(journal_.WaitFor("persist 4"), 0);  // the leader's noop
    node_->Step(AckFrom("2", term_, 4));
    node_->Step(AckFrom("3", term_, 4));
    ASSERT_GE(journal_.WaitFor("apply 4"), 0);
  }

  void TearDown() override {
    if (node_) node_->Stop();
  }

  // Runs `fn` on the loop thread and waits for it, so that every input it
  // steps lands in the same Ready. `fn` must not ASSERT (it would not return).
  void OnLoop(std::function<void(raft::Raft&)> fn) {
    std::promise<void> done;
    ASSERT_TRUE(node_->Post([&](raft::Raft& raft) {
      fn(raft);
      done.set_value();
    }));
    done.get_future().wait();
  }

  Journal journal_;
  FakePersister persister_{&journal_};
  FakeTransport transport_{&journal_};
  FakeApplier applier_{&journal_};
  raft::NullLogger logger_;
  std::unique_ptr<RaftNode> node_;
  Term term_;
};

TEST_F(RaftNodeLeaderTest, CommittedEntriesReachTheApplierBeforeNewerEntriesArePersisted) {
  StartLeader(1h);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  // One Ready both commits 5 (a follower's ack) and appends 6.
  OnLoop([this](raft::Raft& raft) {
    raft.Step(AckFrom("2", term_, 5));
    EXPECT_EQ(raft.Propose("b").value(), LogIndex(6));
  });
  int applied = journal_.WaitFor("apply 5");
  int persisted = journal_.WaitFor("persist 6");
  ASSERT_GE(applied, 0);
  ASSERT_GE(persisted, 0);
  EXPECT_LT(applied, persisted) << "entry 5 is durable on a quorum; its apply need not wait for 6's fsync";
}

TEST_F(RaftNodeLeaderTest, CaughtUpFollowersGetNoSeparateCommitNotice) {
  StartLeader(1h);  // no ticks: every Ready comes from inputs
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  journal_.TakeMessages();
  node_->Step(AckFrom("2", term_, 5));
  node_->Step(AckFrom("3", term_, 5));
  ASSERT_GE(journal_.WaitFor("apply 5"), 0);
  OnLoop([](raft::Raft&) {});  // both acks were stepped and their Readies handled
  for (const raft::Message& m : journal_.TakeMessages()) {
    EXPECT_FALSE(IsEmptyAppendTo(m, "2") || IsEmptyAppendTo(m, "3")) << "commit notice to " << m.to.value();
  }
  // The next append carries the commit index.
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("b").value(), LogIndex(6)); });
  auto append = journal_.WaitForMessage([](const raft::Message& m) {
    const auto* a = std::get_if<raft::AppendRequest>(&m.body);
    return a != nullptr && m.to == NodeId("2") && !a->entries.empty() && a->entries.back().index == LogIndex(6);
  });
  ASSERT_TRUE(append.has_value());
  EXPECT_EQ(std::get<raft::AppendRequest>(append->body).commit, LogIndex(5));
}

TEST_F(RaftNodeLeaderTest, ReadIndexHeartbeatsAreNeverHeldBack) {
  StartLeader(1h);
  journal_.TakeMessages();
  std::promise<Result<LogIndex>> read;
  node_->ReadIndex([&](Result<LogIndex> index) { read.set_value(index); });
  auto heartbeat = journal_.WaitForMessage([](const raft::Message& m) {
    const auto* a = std::get_if<raft::AppendRequest>(&m.body);
    return a != nullptr && a->entries.empty() && a->read_context != 0 && m.to == NodeId("2");
  });
  ASSERT_TRUE(heartbeat.has_value());
  uint64_t context = std::get<raft::AppendRequest>(heartbeat->body).read_context;
  node_->Step(raft::Message{NodeId("2"), NodeId("1"), term_, raft::AppendResponse{true, LogIndex(4), Term(0), context}});
  auto future = read.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  Result<LogIndex> index = future.get();
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(*index, LogIndex(4));
}

TEST_F(RaftNodeLeaderTest, AHeldCommitNoticeIsSentAfterTheDelay) {
  StartLeader(1h, 20ms);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  node_->Step(AckFrom("2", term_, 5));
  ASSERT_GE(journal_.WaitFor("apply 5"), 0);
  auto notice = journal_.WaitForMessage([](const raft::Message& m) {
    const auto* a = std::get_if<raft::AppendRequest>(&m.body);
    return a != nullptr && a->entries.empty() && a->commit == LogIndex(5) && m.to == NodeId("2");
  });
  EXPECT_TRUE(notice.has_value()) << "with no further append the follower must still learn the commit";
}

TEST_F(RaftNodeLeaderTest, TickHeartbeatsCarryTheCommitIndex) {
  StartLeader(20ms);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  node_->Step(AckFrom("2", term_, 5));
  node_->Step(AckFrom("3", term_, 5));
  ASSERT_GE(journal_.WaitFor("apply 5"), 0);
  auto heartbeat = journal_.WaitForMessage([](const raft::Message& m) {
    const auto* a = std::get_if<raft::AppendRequest>(&m.body);
    return a != nullptr && a->entries.empty() && a->commit == LogIndex(5) && m.to == NodeId("3");
  });
  EXPECT_TRUE(heartbeat.has_value()) << "a follower must learn the commit within a heartbeat interval";
}

TEST_F(RaftNodeLeaderTest, StepOnCallerCommitsOnTheCallingThreadWhenTheCoreIsFree) {
  StartLeader(1h);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  ASSERT_TRUE(node_->TEST_WaitUntilLoopSleeps());
  node_->StepOnCaller({AckFrom("2", term_, 5)});
  // Handled before StepOnCaller returned, on this thread: no handoff.
  EXPECT_EQ(applier_.last_thread(), std::this_thread::get_id());
  EXPECT_EQ(node_->state().commit, LogIndex(5));
}

TEST_F(RaftNodeLeaderTest, StepOnCallerLeavesTheMessagesToTheLoopWhenTheCoreIsBusy) {
  StartLeader(1h);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(node_->Post([&holding, released](raft::Raft&) {
    holding.set_value();
    released.wait();
  }));
  holding.get_future().wait();
  auto stepper = std::async(std::launch::async, [this] { node_->StepOnCaller({AckFrom("2", term_, 5)}); });
  ASSERT_EQ(stepper.wait_for(10s), std::future_status::ready) << "StepOnCaller waited for the busy core";
  release.set_value();
  ASSERT_GE(journal_.WaitFor("apply 5"), 0);
  EXPECT_NE(applier_.last_thread(), std::this_thread::get_id());
}

TEST_F(RaftNodeLeaderTest, ACommitNoticeHeldByACallerRoundIsSentAfterTheDelay) {
  StartLeader(1h, 20ms);  // no tick for an hour: only the held-notice deadline can send it
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  ASSERT_TRUE(node_->TEST_WaitUntilLoopSleeps());
  node_->StepOnCaller({AckFrom("2", term_, 5)});
  auto notice = journal_.WaitForMessage([](const raft::Message& m) {
    const auto* a = std::get_if<raft::AppendRequest>(&m.body);
    return a != nullptr && a->entries.empty() && a->commit == LogIndex(5) && m.to == NodeId("3");
  });
  EXPECT_TRUE(notice.has_value()) << "the sleeping loop thread must wake for a notice held on another thread";
}

TEST_F(RaftNodeLeaderTest, StepOnCallerAfterStopDoesNothing) {
  StartLeader(1h);
  OnLoop([](raft::Raft& raft) { EXPECT_EQ(raft.Propose("a").value(), LogIndex(5)); });
  ASSERT_GE(journal_.WaitFor("persist 5"), 0);
  node_->Stop();
  node_->StepOnCaller({AckFrom("2", term_, 5)});
  EXPECT_FALSE(journal_.Has("apply 5")) << "a stopped node stepped and committed";
  EXPECT_EQ(node_->state().commit, LogIndex(4));
}

}  // namespace
}  // namespace rq::store
