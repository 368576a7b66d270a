#include "cluster/join.h"

#include <gtest/gtest.h>

#include "cluster/test_util.h"
#include "cluster/transport.h"

namespace rq::cluster {
namespace {
using namespace std::chrono_literals;

// Accepts joins, or answers NotLeader naming `leader`, or refuses outright.
class JoinHandler : public RpcHandler {
 public:
  enum class Mode { kAccept, kRedirect, kRefuse };
  explicit JoinHandler(Mode mode) : mode_(mode) {}
  void set_leader(std::string leader) { leader_ = std::move(leader); }
  int joins() const { return joins_; }

  void Join(const JoinRequest&, std::function<void(JoinResponse)> done) override {
    joins_++;
    if (mode_ == Mode::kAccept) return done({Status::OK(), ""});
    if (mode_ == Mode::kRedirect) return done({Status::NotLeader("not leader"), leader_});
    done({Status::InvalidArgument("unauthorized"), ""});
  }
  void Remove(const RemoveRequest&, std::function<void(RemoveResponse)> done) override {
    done({Status::Unavailable("n/a"), ""});
  }
  void GetNodeMeta(const NodeMetaRequest&, std::function<void(NodeMetaResponse)> done) override {
    done({Status::Unavailable("n/a"), "", "", 0});
  }
  void Forward(const ForwardRequest&, std::function<void(ForwardResponse)> done) override {
    done({Status::Unavailable("n/a"), {}});
  }
  void StepDown(const StepDownRequest&, std::function<void(StepDownResponse)> done) override {
    done({Status::Unavailable("n/a"), ""});
  }

 private:
  Mode mode_;
  std::string leader_;
  std::atomic<int> joins_{0};
};

struct Server {
  Server(const char* id, JoinHandler::Mode mode) : handler(mode) {
    Transport::Config config;
    config.node_id = NodeId(id);
    transport = std::make_unique<Transport>(config, &receiver, &handler, nullptr);
    EXPECT_TRUE(transport->Start().ok());
    address = "127.0.0.1:" + std::to_string(transport->port());
  }
  testing::RecordingReceiver receiver;
  JoinHandler handler;
  std::unique_ptr<Transport> transport;
  std::string address;
};

std::string DeadAddress() {
  Server probe("probe", JoinHandler::Mode::kAccept);
  return probe.address;  // closed when probe goes out of scope
}

JoinOptions Quick(std::vector<std::string> targets) {
  JoinOptions options;
  options.targets = std::move(targets);
  options.attempts = 2;
  options.interval = 10ms;
  options.rpc_timeout = 2s;
  return options;
}

const JoinRequest kRequest{"n9", "127.0.0.1:4902", "http://127.0.0.1:4901", true, {}};

TEST(JoinClusterTest, JoinThroughAFollowerFollowsTheRedirectToTheLeader) {
  Server leader("leader", JoinHandler::Mode::kAccept);
  Server follower("follower", JoinHandler::Mode::kRedirect);
  follower.handler.set_leader(leader.address);
  Client client({});
  auto joined = JoinCluster(client, kRequest, Quick({follower.address}));
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(*joined, leader.address);
  EXPECT_EQ(follower.handler.joins(), 1);
  EXPECT_EQ(leader.handler.joins(), 1);
}

TEST(JoinClusterTest, DownTargetIsSkippedForTheNextOne) {
  Server leader("leader", JoinHandler::Mode::kAccept);
  Client client({});
  auto joined = JoinCluster(client, kRequest, Quick({DeadAddress(), leader.address}));
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(*joined, leader.address);
}

TEST(JoinClusterTest, UnreachableTargetsFailAfterEveryAttempt) {
  Client client({});
  auto joined = JoinCluster(client, kRequest, Quick({DeadAddress()}));
  ASSERT_FALSE(joined.ok());
  EXPECT_TRUE(joined.status().IsIOError()) << joined.status().ToString();
  EXPECT_NE(joined.status().message().find("after 2 attempts"), std::string::npos);
}

TEST(JoinClusterTest, RefusalIsNotRetried) {
  Server leader("leader", JoinHandler::Mode::kRefuse);
  Client client({});
  JoinOptions options = Quick({leader.address});
  options.attempts = 5;
  auto joined = JoinCluster(client, kRequest, options);
  ASSERT_FALSE(joined.ok());
  EXPECT_TRUE(joined.status().IsInvalidArgument());
  EXPECT_EQ(leader.handler.joins(), 1);
}

TEST(JoinClusterTest, RedirectLoopEndsAfterTheHopLimit) {
  Server a("a", JoinHandler::Mode::kRedirect), b("b", JoinHandler::Mode::kRedirect);
  a.handler.set_leader(b.address);
  b.handler.set_leader(a.address);
  Client client({});
  JoinOptions options = Quick({a.address});
  options.attempts = 1;
  options.redirects_max = 3;
  auto joined = JoinCluster(client, kRequest, options);
  ASSERT_FALSE(joined.ok());
  EXPECT_TRUE(joined.status().IsNotLeader());
  EXPECT_EQ(a.handler.joins() + b.handler.joins(), 4);
}

TEST(JoinClusterTest, OwnAddressIsNeverATarget) {
  Client client({});
  JoinOptions options = Quick({"127.0.0.1:4902"});
  options.self_raft_addr = "127.0.0.1:4902";
  EXPECT_TRUE(JoinCluster(client, kRequest, options).status().IsInvalidArgument());
}

}  // namespace
}  // namespace rq::cluster
