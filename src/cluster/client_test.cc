#include "cluster/client.h"

#include <gtest/gtest.h>

#include <future>

#include "cluster/test_util.h"
#include "cluster/transport.h"

namespace rq::cluster {
namespace {
using namespace std::chrono_literals;
using testing::RecordingReceiver;
using testing::WaitFor;

// Answers RPCs; FORWARD calls are held until the test releases them.
class FakeHandler : public RpcHandler {
 public:
  void Join(const JoinRequest& request, std::function<void(JoinResponse)> done) override {
    {
      std::lock_guard lock(mutex_);
      joins.push_back(request);
    }
    if (request.id == "follower-test") {
      done(JoinResponse{Status::NotLeader("not leader"), "10.0.0.9:4002"});
      return;
    }
    done(JoinResponse{Status::OK(), ""});
  }
  void Remove(const RemoveRequest& request, std::function<void(RemoveResponse)> done) override {
    done(RemoveResponse{request.id == "ghost" ? Status::NotFound("no such node: ghost") : Status::OK(), ""});
  }
  void GetNodeMeta(const NodeMetaRequest&, std::function<void(NodeMetaResponse)> done) override {
    done(NodeMetaResponse{Status::OK(), "http://127.0.0.1:4001", "v10.2.7", 4242});
  }
  void StepDown(const StepDownRequest& request, std::function<void(StepDownResponse)> done) override {
    done(StepDownResponse{request.wait ? Status::OK() : Status::InvalidArgument("no wait"), ""});
  }
  void Forward(const ForwardRequest& request, std::function<void(ForwardResponse)> done) override {
    std::lock_guard lock(mutex_);
    if (request.payload == "blackhole") {
      dropped_.push_back(std::move(done));  // never answered
      return;
    }
    held_.emplace_back(request, std::move(done));
  }

  size_t held() {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  // Answers held forwards newest first, echoing the first parameter.
  void ReleaseAllReversed() {
    std::vector<std::pair<ForwardRequest, std::function<void(ForwardResponse)>>> calls;
    {
      std::lock_guard lock(mutex_);
      calls.swap(held_);
    }
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
      ForwardResponse response;
      response.response.raft_index = static_cast<uint64_t>(
          std::get<int64_t>(it->first.request.statements.at(0).parameters.at(0).value));
      it->second(std::move(response));
    }
  }
  std::vector<JoinRequest> joins;

 private:
  std::mutex mutex_;
  std::vector<std::pair<ForwardRequest, std::function<void(ForwardResponse)>>> held_;
  std::vector<std::function<void(ForwardResponse)>> dropped_;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Transport::Config config;
    config.node_id = NodeId("leader");
    transport_ = std::make_unique<Transport>(config, &receiver_, &handler_, nullptr);
    ASSERT_TRUE(transport_->Start().ok());
    address_ = "127.0.0.1:" + std::to_string(transport_->port());
  }

  ForwardRequest Numbered(int64_t n) {
    ForwardRequest request;
    request.kind = ForwardKind::kExecute;
    request.request.statements.push_back({"INSERT INTO t VALUES(?)", {{"", n}}, false});
    return request;
  }

  RecordingReceiver receiver_;
  FakeHandler handler_;
  std::unique_ptr<Transport> transport_;
  std::string address_;
};

TEST_F(ClientTest, JoinCarriesEveryFieldAndCredentials) {
  Client client({NodeId("newbie")});
  JoinRequest request{"n2", "127.0.0.1:4102", "http://127.0.0.1:4101", false, {"admin", "pw", true}};
  auto response = client.Join(address_, request, 5s);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_TRUE(response->status.ok());
  ASSERT_EQ(handler_.joins.size(), 1u);
  EXPECT_EQ(handler_.joins[0], request);
}

TEST_F(ClientTest, JoinAtAFollowerReturnsNotLeaderWithTheLeaderAddress) {
  Client client({});
  auto response = client.Join(address_, JoinRequest{"follower-test", "a:1", "http://a:2", true, {}}, 5s);
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->status.IsNotLeader());
  EXPECT_EQ(response->leader_raft_addr, "10.0.0.9:4002");
}

TEST_F(ClientTest, RemoveGetNodeMetaAndStepDownRoundTrip) {
  Client client({});
  auto removed = client.Remove(address_, RemoveRequest{"n3", {}}, 5s);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->status.ok());
  auto missing = client.Remove(address_, RemoveRequest{"ghost", {}}, 5s);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->status.IsNotFound());
  EXPECT_EQ(missing->status.message(), "no such node: ghost");
  auto meta = client.GetNodeMeta(address_, NodeMetaRequest{}, 5s);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->api_url, "http://127.0.0.1:4001");
  EXPECT_EQ(meta->version, "v10.2.7");
  EXPECT_EQ(meta->commit_index, 4242u);
  auto stepdown = client.StepDown(address_, StepDownRequest{"n2", true, {}}, 5s);
  ASSERT_TRUE(stepdown.ok());
  EXPECT_TRUE(stepdown->status.ok());
}

TEST_F(ClientTest, ConcurrentForwardsOnOneConnectionAreMatchedByCorrelationId) {
  Client::Config config;
  config.connections_per_address = 1;
  Client client(config);
  constexpr int kCalls = 64;
  std::mutex mutex;
  std::map<int64_t, uint64_t> answers;
  for (int64_t n = 1; n <= kCalls; ++n) {
    client.ForwardAsync(address_, Numbered(n), 10s, [&, n](Result<ForwardResponse> r) {
      std::lock_guard lock(mutex);
      answers[n] = r.ok() ? r->response.raft_index : 0;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return handler_.held() == kCalls; }));  // all in flight at once
  handler_.ReleaseAllReversed();
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mutex);
    return answers.size() == kCalls;
  }));
  for (auto [n, index] : answers) EXPECT_EQ(index, static_cast<uint64_t>(n));
}

TEST_F(ClientTest, BlockingForwardFromManyThreads) {
  Client client({});
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = client.Forward(address_, Numbered(t * 100 + i), 10s);
        if (r.ok() && r->response.raft_index == static_cast<uint64_t>(t * 100 + i)) good++;
      }
    });
  }
  std::atomic<bool> stop{false};
  std::thread releaser([&] {
    while (!stop) {
      handler_.ReleaseAllReversed();
      std::this_thread::sleep_for(1ms);
    }
  });
  for (auto& thread : threads) thread.join();
  stop = true;
  releaser.join();
  EXPECT_EQ(good.load(), 80);
}

TEST_F(ClientTest, UnansweredCallTimesOutAndTheConnectionStaysUsable) {
  Client::Config config;
  config.connections_per_address = 1;
  Client client(config);
  ForwardRequest blackhole = Numbered(1);
  blackhole.payload = "blackhole";
  auto start = std::chrono::steady_clock::now();
  auto response = client.Forward(address_, blackhole, 200ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsTimeout()) << response.status().ToString();
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 5s);
  auto meta = client.GetNodeMeta(address_, NodeMetaRequest{}, 5s);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->commit_index, 4242u);
}

TEST_F(ClientTest, StopAnswersPendingAndLaterCallsWithAborted) {
  Client client({});
  ForwardRequest blackhole = Numbered(1);
  blackhole.payload = "blackhole";
  std::promise<Status> pending;
  client.ForwardAsync(address_, blackhole, 60s,
                      [&pending](Result<ForwardResponse> r) { pending.set_value(r.status()); });
  std::this_thread::sleep_for(100ms);  // the call is on the wire, unanswered
  auto start = std::chrono::steady_clock::now();
  client.Stop();
  auto future = pending.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  EXPECT_EQ(future.get().code(), Status::Code::kAborted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto later = client.GetNodeMeta(address_, NodeMetaRequest{}, 5s);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), Status::Code::kAborted);
  client.Stop();  // idempotent
}

TEST_F(ClientTest, UnreachableAddressIsAnIOError) {
  uint16_t port = transport_->port();
  transport_.reset();
  Client client({});
  auto response = client.GetNodeMeta("127.0.0.1:" + std::to_string(port), NodeMetaRequest{}, 5s);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsIOError()) << response.status().ToString();
}

TEST_F(ClientTest, MalformedAddressFailsCleanly) {
  Client client({});
  auto response = client.GetNodeMeta("no-port-here", NodeMetaRequest{}, 1s);
  ASSERT_FALSE(response.ok());
}

TEST_F(ClientTest, NotifyIsRefusedByAHandlerThatDoesNotServeIt) {
  Client client({});
  auto response = client.Notify(address_, NotifyRequest{"n7", "127.0.0.1:4702", "127.0.0.1:4701", {}}, 5s);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status.code(), Status::Code::kNotSupported);
}

// A listener that answers every connection with bytes that are not frames.
class GarbageServer {
 public:
  GarbageServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::string garbage(64, '\xee');  // a 4 GB length, then noise
      ::send(conn, garbage.data(), garbage.size(), MSG_NOSIGNAL);
      char buf[256];
      while (::recv(conn, buf, sizeof(buf), 0) > 0) {
      }
      ::close(conn);
    });
  }
  ~GarbageServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ClientTest, GarbageFromTheServerFailsTheCallWithCorruption) {
  GarbageServer server;
  Client client({});
  auto start = std::chrono::steady_clock::now();
  auto response = client.GetNodeMeta("127.0.0.1:" + std::to_string(server.port()), NodeMetaRequest{}, 10s);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().IsCorruption()) << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ClientTest, ServerWithoutHandlerAnswersUnavailable) {
  RecordingReceiver receiver;
  Transport::Config config;
  config.node_id = NodeId("bare");
  Transport bare(config, &receiver, nullptr, nullptr);
  ASSERT_TRUE(bare.Start().ok());
  Client client({});
  auto response = client.GetNodeMeta("127.0.0.1:" + std::to_string(bare.port()), NodeMetaRequest{}, 5s);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status.code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace rq::cluster
