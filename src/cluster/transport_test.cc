#include "cluster/transport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <numeric>
#include <thread>

#include "base/random.h"
#include "cluster/codec.h"
#include "cluster/test_util.h"

namespace rq::cluster {
namespace {
using namespace std::chrono_literals;
using testing::RawClient;
using testing::RecordingReceiver;
using testing::WaitFor;

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

struct Node {
  Node(std::string id, uint64_t snapshot_bytes = 0, std::string bind = "127.0.0.1:0",
       std::function<void(Transport::Config*)> tweak = nullptr)
      : source(snapshot_bytes) {
    Transport::Config config;
    config.bind_addr = std::move(bind);
    config.node_id = NodeId(id);
    config.backoff_initial = 10ms;
    config.backoff_max = 100ms;
    config.connect_timeout = 1s;
    config.on_unreachable = [this](const NodeId&) { unreachable++; };
    config.on_snapshot_done = [this](const NodeId&, bool ok) {
      std::lock_guard lock(mutex);
      snapshot_results.push_back(ok);
    };
    if (tweak) tweak(&config);
    transport = std::make_unique<Transport>(config, &receiver, nullptr, &source);
  }
  std::vector<bool> SnapshotResults() {
    std::lock_guard lock(mutex);
    return snapshot_results;
  }

  RecordingReceiver receiver;
  testing::FakeSnapshotSource source;
  std::atomic<int> unreachable{0};
  std::mutex mutex;
  std::vector<bool> snapshot_results;
  std::unique_ptr<Transport> transport;
};

raft::Message Append(const char* from, const char* to, uint64_t term, int entries) {
  raft::AppendRequest a{LogIndex(1), Term(1), {}, LogIndex(1), 0};
  for (int i = 0; i < entries; ++i) {
    a.entries.push_back({Term(term), LogIndex(2 + i), raft::EntryType::kNormal, "entry" + std::to_string(i)});
  }
  return raft::Message{NodeId(from), NodeId(to), Term(term), a};
}

raft::Message Snapshot(const char* from, const char* to) {
  raft::SnapshotMeta meta{LogIndex(500), Term(3), {{NodeId("a"), NodeId("b")}, {}}};
  return raft::Message{NodeId(from), NodeId(to), Term(3), raft::InstallSnapshotRequest{meta}};
}

// Tells `a` (and `b` too when `both`) where nodes "a" and "b" listen.
void Connect(Node& a, Node& b, bool both = false) {
  std::map<NodeId, std::string> peers = {{NodeId("a"), Loopback(a.transport->port())},
                                         {NodeId("b"), Loopback(b.transport->port())}};
  a.transport->SetPeers(peers);
  if (both) b.transport->SetPeers(peers);
}

std::string HelloFrame(const char* id) {
  return EncodeFrame(FrameType::kHello, EncodeHello({NodeId(id), kProtocolVersion, ""}));
}

TEST(TransportTest, StartFailsWithIOErrorNamingAnAddressInUse) {
  Node a("a");
  ASSERT_TRUE(a.transport->Start().ok());
  Node b("b", 0, Loopback(a.transport->port()));
  Status status = b.transport->Start();
  ASSERT_TRUE(status.IsIOError()) << status.ToString();
  EXPECT_NE(status.message().find(Loopback(a.transport->port())), std::string::npos);
}

TEST(TransportTest, RaftMessagesFlowBothWays) {
  Node a("a"), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b, /*both=*/true);
  raft::Message request = Append("a", "b", 2, 3);
  a.transport->Send({request});
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 1; }));
  EXPECT_EQ(b.receiver.messages()[0], request);
  raft::Message response{NodeId("b"), NodeId("a"), Term(2), raft::AppendResponse{true, LogIndex(4), Term(), 0}};
  b.transport->Send({response});
  ASSERT_TRUE(WaitFor([&] { return a.receiver.message_count() == 1; }));
  EXPECT_EQ(a.receiver.messages()[0], response);
}

TEST(TransportTest, ManyMessagesArriveInOrderWithSeveralIoThreads) {
  auto two_threads = [](Transport::Config* c) { c->io_threads = 2; };
  Node a("a", 0, "127.0.0.1:0", two_threads), b("b", 0, "127.0.0.1:0", two_threads);
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  for (uint64_t term = 1; term <= 2000; ++term) a.transport->Send({Append("a", "b", term, 1)});
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 2000; }));
  auto messages = b.receiver.messages();
  for (size_t i = 0; i < messages.size(); ++i) EXPECT_EQ(messages[i].term, Term(i + 1));
  EXPECT_EQ(a.unreachable.load(), 0);
  // The sender counts a batch once its write completes, which may trail delivery.
  ASSERT_TRUE(WaitFor([&] { return a.transport->Stats().at(0).messages_sent == 2000u; }));
  auto stats = a.transport->Stats();
  ASSERT_EQ(stats.size(), 1u);  // "a" itself is not a peer
  EXPECT_EQ(stats[0].id, NodeId("b"));
  EXPECT_TRUE(stats[0].connected);
  EXPECT_EQ(stats[0].messages_dropped, 0u);
}

TEST(TransportTest, LargeAndSmallMessagesStayInOrder) {
  // Multi-megabyte messages overflow the socket buffer, so a direct write
  // from the sending thread is partial and the I/O thread sends the rest;
  // the small messages after it must wait their turn.
  auto always_direct = [](Transport::Config* c) { c->direct_write_idle = std::chrono::nanoseconds(0); };
  Node a("a", 0, "127.0.0.1:0", always_direct), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  const int kMessages = 60;
  for (int i = 1; i <= kMessages; ++i) {
    raft::Message m = Append("a", "b", i, 1);
    if (i % 3 == 0) std::get<raft::AppendRequest>(m.body).entries[0].data.assign(3 << 20, static_cast<char>('a' + i % 26));
    a.transport->Send({m});
  }
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == kMessages; }));
  auto messages = b.receiver.messages();
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(messages[i].term, Term(i + 1));
    const std::string& data = std::get<raft::AppendRequest>(messages[i].body).entries.at(0).data;
    if ((i + 1) % 3 == 0) {
      EXPECT_EQ(data, std::string(3 << 20, static_cast<char>('a' + (i + 1) % 26))) << "message " << i + 1;
    } else {
      EXPECT_EQ(data, "entry0");
    }
  }
  ASSERT_TRUE(WaitFor([&] { return a.transport->Stats().at(0).messages_sent == static_cast<uint64_t>(kMessages); }));
  EXPECT_EQ(a.unreachable.load(), 0);
}

TEST(TransportTest, MessagesOfOneSendAreDeliveredTogether) {
  // A leader's Ready may hold several messages for one follower: they must
  // reach it as one batch (one round, one fsync there), not one by one.
  Node a("a"), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  a.transport->Send({Append("a", "b", 1, 1)});  // connects
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 1; }));
  std::this_thread::sleep_for(5ms);  // a quiet connection: written by this thread
  std::vector<raft::Message> several;
  for (uint64_t term = 2; term <= 6; ++term) several.push_back(Append("a", "b", term, 1));
  a.transport->Send(several);
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 6; }));
  auto batches = b.receiver.batch_sizes();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1], 5u);
  ASSERT_TRUE(WaitFor([&] { return a.transport->Stats().at(0).messages_sent == 6u; }));
}

TEST(TransportTest, MessagesThatArrivedWhileTheReceiverWasBusyAreDeliveredTogether) {
  Node a("a"), b("b");
  std::promise<void> release;
  b.receiver.hold_delivery = release.get_future().share();
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  a.transport->Send({Append("a", "b", 1, 1)});
  // b's I/O thread is now held inside the first delivery; these queue up
  // in the socket meanwhile.
  for (uint64_t term = 2; term <= 50; ++term) a.transport->Send({Append("a", "b", term, 1)});
  ASSERT_TRUE(WaitFor([&] { return a.transport->Stats().at(0).messages_sent == 50u; }));
  release.set_value();
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 50; }));
  auto messages = b.receiver.messages();
  for (size_t i = 0; i < messages.size(); ++i) EXPECT_EQ(messages[i].term, Term(i + 1));
  auto batches = b.receiver.batch_sizes();
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(std::accumulate(batches.begin(), batches.end(), size_t{0}), 50u);
  EXPECT_GT(*std::max_element(batches.begin(), batches.end()), 10u)
      << "messages waiting in the socket came one delivery at a time";
}

TEST(TransportTest, ReconnectsAfterThePeerRestarts) {
  Node a("a");
  auto b = std::make_unique<Node>("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b->transport->Start().ok());
  const uint16_t port = b->transport->port();
  Connect(a, *b);
  a.transport->Send({Append("a", "b", 1, 1)});
  ASSERT_TRUE(WaitFor([&] { return b->receiver.message_count() == 1; }));
  b.reset();  // the peer goes away...
  b = std::make_unique<Node>("b", 0, Loopback(port));
  ASSERT_TRUE(b->transport->Start().ok());  // ...and comes back on the same port
  // Raft resends on every heartbeat; the first sends may be lost to the dead stream.
  ASSERT_TRUE(WaitFor([&] {
    a.transport->Send({Append("a", "b", 2, 1)});
    return b->receiver.message_count() > 0;
  }));
  EXPECT_EQ(b->receiver.messages()[0].term, Term(2));
}

TEST(TransportTest, QueueStaysBoundedAndReportsWhenThePeerIsDown) {
  uint16_t dead_port;
  {
    Node probe("probe");
    ASSERT_TRUE(probe.transport->Start().ok());
    dead_port = probe.transport->port();
  }
  Node a("a", 0, "127.0.0.1:0", [](Transport::Config* c) { c->peer_queue_messages_max = 16; });
  ASSERT_TRUE(a.transport->Start().ok());
  a.transport->SetPeers({{NodeId("b"), Loopback(dead_port)}});
  size_t max_seen = 0;
  for (int i = 0; i < 5000; ++i) {
    a.transport->Send({Append("a", "b", 1, 1)});
    max_seen = std::max(max_seen, a.transport->TEST_QueuedMessages(NodeId("b")));
  }
  EXPECT_LE(max_seen, 16u);
  EXPECT_GT(a.unreachable.load(), 0);
  EXPECT_FALSE(a.transport->Stats().at(0).connected);
  EXPECT_GE(a.transport->Stats().at(0).messages_dropped, 5000u - 16u);
  // Failed connections keep being reported while sends continue.
  int before = a.unreachable.load();
  ASSERT_TRUE(WaitFor([&] {
    a.transport->Send({Append("a", "b", 1, 1)});
    return a.unreachable.load() > before + 2;
  }));
}

TEST(TransportTest, MessageToAnUnknownPeerIsReportedUnreachable) {
  Node a("a");
  ASSERT_TRUE(a.transport->Start().ok());
  a.transport->Send({Append("a", "nobody", 1, 1)});
  EXPECT_EQ(a.unreachable.load(), 1);
}

TEST(TransportTest, RemovedPeerGetsNoMoreMessages) {
  Node a("a"), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  a.transport->Send({Append("a", "b", 1, 1)});
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 1; }));
  a.transport->SetPeers({});
  a.transport->Send({Append("a", "b", 2, 1)});
  EXPECT_EQ(a.unreachable.load(), 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(b.receiver.message_count(), 1u);
}

TEST(TransportTest, MultiMegabyteSnapshotStreamsAndIsDeliveredAfterFinish) {
  const uint64_t kBytes = (5 << 20) + 12345;
  Node a("a", kBytes, "127.0.0.1:0", [](Transport::Config* c) { c->snapshot_chunk_bytes = 256 << 10; });
  Node b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  raft::Message snapshot = Snapshot("a", "b");
  a.transport->Send({snapshot});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_TRUE(a.SnapshotResults()[0]);
  auto sinks = b.receiver.sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].bytes, kBytes);
  EXPECT_EQ(sinks[0].crc, a.source.ExpectedCrc());
  EXPECT_TRUE(sinks[0].content_ok);
  EXPECT_TRUE(sinks[0].finished);
  EXPECT_FALSE(sinks[0].aborted);
  ASSERT_EQ(b.receiver.message_count(), 1u);
  EXPECT_EQ(b.receiver.messages()[0], snapshot);
  EXPECT_TRUE(b.receiver.snapshot_delivered_after_finish());
}

TEST(TransportTest, CorruptedSnapshotChunkAbortsReceiverAndFailsSender) {
  Node a("a", 3 << 20), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  a.transport->TEST_CorruptNextSnapshotChunk();
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_FALSE(a.SnapshotResults()[0]);
  ASSERT_TRUE(WaitFor([&] { return !b.receiver.sinks().empty() && b.receiver.sinks()[0].aborted; }));
  EXPECT_FALSE(b.receiver.sinks()[0].finished);
  EXPECT_EQ(b.receiver.message_count(), 0u);
  // The next attempt goes through.
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 2; }));
  EXPECT_TRUE(a.SnapshotResults()[1]);
  EXPECT_EQ(b.receiver.message_count(), 1u);
}

TEST(TransportTest, CompressedSnapshotArrivesIntactAtANodeThatDoesNotCompress) {
  const uint64_t kBytes = (4 << 20) + 99;
  Node a("a", kBytes, "127.0.0.1:0", [](Transport::Config* c) { c->compress_snapshots = true; });
  Node b("b");  // compression off here: received chunks are accepted either way
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_TRUE(a.SnapshotResults()[0]);
  auto sinks = b.receiver.sinks();
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].bytes, kBytes);
  EXPECT_EQ(sinks[0].crc, a.source.ExpectedCrc());
  EXPECT_TRUE(sinks[0].content_ok);
  EXPECT_TRUE(b.receiver.snapshot_delivered_after_finish());
}

TEST(TransportTest, UndecompressableChunkAbortsTheSnapshot) {
  Node b("b");
  ASSERT_TRUE(b.transport->Start().ok());
  RawClient client(b.transport->port());
  ASSERT_TRUE(client.connected());
  const SnapshotBegin begin{Snapshot("x", "b"), 100};
  ASSERT_TRUE(client.Write(HelloFrame("x") + EncodeFrame(FrameType::kSnapshotBegin, EncodeSnapshotBegin(begin)) +
                           EncodeFrame(FrameType::kSnapshotChunkZlib, "not a zlib stream")));
  bool closed = false;
  std::string answer = client.ReadUntilClose(&closed);
  EXPECT_TRUE(closed);
  ASSERT_TRUE(WaitFor([&] { return !b.receiver.sinks().empty() && b.receiver.sinks()[0].aborted; }));
  EXPECT_EQ(b.receiver.message_count(), 0u);
  FrameDecoder decoder;
  decoder.Feed(answer);
  auto ack = decoder.Next();
  ASSERT_TRUE(ack.ok() && ack->has_value());
  EXPECT_EQ((*ack)->type, FrameType::kSnapshotAck);
  auto decoded = DecodeSnapshotAck((*ack)->payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->ok);
}

TEST(TransportTest, SinkWriteFailureFailsTheSender) {
  Node a("a", 1 << 20), b("b");
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Connect(a, b);
  b.receiver.fail_writes = true;
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_FALSE(a.SnapshotResults()[0]);
  ASSERT_TRUE(WaitFor([&] { return !b.receiver.sinks().empty() && b.receiver.sinks()[0].aborted; }));
  EXPECT_EQ(b.receiver.message_count(), 0u);
}

TEST(TransportTest, SnapshotToAnUnreachablePeerReportsFailure) {
  uint16_t dead_port;
  {
    Node probe("probe");
    ASSERT_TRUE(probe.transport->Start().ok());
    dead_port = probe.transport->port();
  }
  Node a("a", 1000);
  ASSERT_TRUE(a.transport->Start().ok());
  a.transport->SetPeers({{NodeId("b"), Loopback(dead_port)}});
  a.transport->Send({Snapshot("a", "b")});
  ASSERT_TRUE(WaitFor([&] { return a.SnapshotResults().size() == 1; }));
  EXPECT_FALSE(a.SnapshotResults()[0]);
}

TEST(TransportTest, HostileClientsAreDisconnectedAndTheServerKeepsWorking) {
  Node a("a");
  Node b("b", 0, "127.0.0.1:0", [](Transport::Config* c) { c->hello_timeout = 300ms; });
  ASSERT_TRUE(a.transport->Start().ok());
  ASSERT_TRUE(b.transport->Start().ok());
  Random random(42);
  std::string oversized_header("\xff\xff\xff\x7f\0\0\0\0\x01", 9);
  std::string wrong_sender = EncodeFrame(FrameType::kRaftMessage, EncodeRaftMessage(Append("mallory", "b", 1, 1)));
  std::string bad_crc = EncodeFrame(FrameType::kRaftMessage, EncodeRaftMessage(Append("x", "b", 1, 1)));
  bad_crc[5] ^= 1;
  std::vector<std::string> attacks = {
      oversized_header,                              // giant length before HELLO
      EncodeFrame(FrameType::kRaftMessage, "junk"),  // no HELLO first
      HelloFrame("x") + oversized_header,
      HelloFrame("x") + wrong_sender,
      HelloFrame("x") + bad_crc,
      HelloFrame("x") + EncodeFrame(FrameType::kRaftMessage, "\xff\xff\xff"),
      HelloFrame("x") + EncodeFrame(FrameType::kSnapshotChunk, "stray chunk"),
      EncodeFrame(FrameType::kHello, EncodeHello({NodeId("x"), 999, ""})),
  };
  for (int i = 0; i < 30; ++i) {
    std::string garbage(random.Uniform(5000), '\0');
    for (char& c : garbage) c = static_cast<char>(random.Next());
    attacks.push_back(i % 2 ? HelloFrame("x") + garbage : garbage);
  }
  for (const std::string& attack : attacks) {
    RawClient client(b.transport->port());
    ASSERT_TRUE(client.connected());
    client.Write(attack);
    bool closed = false;
    client.ReadUntilClose(&closed);
    EXPECT_TRUE(closed || attack.size() < kFrameHeaderBytes) << "attack of " << attack.size() << " bytes";
  }
  EXPECT_EQ(b.receiver.message_count(), 0u);
  Connect(a, b);
  a.transport->Send({Append("a", "b", 1, 1)});
  ASSERT_TRUE(WaitFor([&] { return b.receiver.message_count() == 1; }));
}

TEST(TransportTest, ConnectionsBeyondTheInboundLimitAreClosed) {
  Node b("b", 0, "127.0.0.1:0", [](Transport::Config* c) { c->inbound_connections_max = 2; });
  ASSERT_TRUE(b.transport->Start().ok());
  RawClient first(b.transport->port()), second(b.transport->port());
  ASSERT_TRUE(first.Write(HelloFrame("x")));
  ASSERT_TRUE(second.Write(HelloFrame("y")));
  std::this_thread::sleep_for(100ms);  // both are being served
  RawClient third(b.transport->port());
  bool closed = false;
  third.ReadUntilClose(&closed);
  EXPECT_TRUE(closed);
}

TEST(TransportTest, ConfigValidationRejectsNonsense) {
  Transport::Config config;
  config.node_id = NodeId("a");
  EXPECT_TRUE(config.Validate().ok());
  Transport::Config bad = config;
  bad.node_id = NodeId();
  EXPECT_FALSE(bad.Validate().ok());
  bad = config;
  bad.snapshot_chunk_bytes = bad.max_frame_bytes + 1;
  EXPECT_FALSE(bad.Validate().ok());
  bad = config;
  bad.backoff_initial = 2s;
  EXPECT_FALSE(bad.Validate().ok());
  bad = config;
  bad.peer_queue_messages_max = 0;
  EXPECT_FALSE(bad.Validate().ok());
}

}  // namespace
}  // namespace rq::cluster
