#include "cluster/codec.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/random.h"

namespace rq::cluster {
namespace {

std::string RandomBytes(Random* random, size_t max) {
  std::string s(random->Uniform(max + 1), '\0');
  for (char& c : s) c = static_cast<char>(random->Next());
  return s;
}

raft::Membership RandomMembership(Random* random) {
  raft::Membership m;
  for (int i = 0; i < 7; ++i) {
    NodeId id("n" + std::to_string(i));
    uint64_t pick = random->Uniform(3);
    if (pick == 0) m.voters.push_back(id);
    if (pick == 1) m.learners.push_back(id);
  }
  return m;
}

raft::MessageBody RandomBody(Random* random) {
  auto term = [&] { return Term(random->Next()); };
  auto index = [&] { return LogIndex(random->Next()); };
  switch (random->Uniform(6)) {
    case 0: return raft::VoteRequest{index(), term(), random->Chance(1, 2), random->Chance(1, 2)};
    case 1: return raft::VoteResponse{random->Chance(1, 2), random->Chance(1, 2)};
    case 2: {
      raft::AppendRequest a{index(), term(), {}, index(), random->Next()};
      for (uint64_t i = random->Uniform(5); i > 0; --i) {
        a.entries.push_back(raft::Entry{term(), index(), static_cast<raft::EntryType>(random->Uniform(3)),
                                        RandomBytes(random, 100)});
      }
      return a;
    }
    case 3: return raft::AppendResponse{random->Chance(1, 2), index(), term(), random->Next()};
    case 4: return raft::InstallSnapshotRequest{raft::SnapshotMeta{index(), term(), RandomMembership(random)}};
    default: return raft::TimeoutNow{};
  }
}

raft::Message RandomMessage(Random* random) {
  return raft::Message{NodeId("from" + std::to_string(random->Uniform(100))),
                       NodeId("to" + std::to_string(random->Uniform(100))), Term(random->Next()),
                       RandomBody(random)};
}

void ExpectRoundTrip(const raft::Message& message) {
  auto decoded = DecodeRaftMessage(EncodeRaftMessage(message));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, message);
}

TEST(RaftCodecTest, EveryMessageKindRoundTrips) {
  NodeId a("a"), b("b");
  ExpectRoundTrip({a, b, Term(3), raft::VoteRequest{LogIndex(10), Term(2), true, false}});
  ExpectRoundTrip({a, b, Term(3), raft::VoteRequest{LogIndex(10), Term(2), false, true}});
  ExpectRoundTrip({a, b, Term(3), raft::VoteResponse{true, true}});
  ExpectRoundTrip({a, b, Term(4), raft::AppendRequest{LogIndex(5), Term(3), {}, LogIndex(4), 9}});
  raft::AppendRequest with_entries{LogIndex(5), Term(3), {}, LogIndex(4), 0};
  with_entries.entries.push_back({Term(3), LogIndex(6), raft::EntryType::kNormal, std::string("\0\xff", 2)});
  with_entries.entries.push_back({Term(4), LogIndex(7), raft::EntryType::kConfigChange, "cc"});
  with_entries.entries.push_back({Term(4), LogIndex(8), raft::EntryType::kNoop, ""});
  ExpectRoundTrip({a, b, Term(4), with_entries});
  ExpectRoundTrip({a, b, Term(4), raft::AppendResponse{false, LogIndex(3), Term(2), 7}});
  raft::SnapshotMeta meta{LogIndex(100), Term(5), {{NodeId("a"), NodeId("b")}, {NodeId("c")}}};
  ExpectRoundTrip({a, b, Term(5), raft::InstallSnapshotRequest{meta}});
  ExpectRoundTrip({a, b, Term(6), raft::TimeoutNow{}});
}

TEST(RaftCodecTest, RandomMessagesRoundTrip) {
  Random random(1234);
  for (int i = 0; i < 5000; ++i) ExpectRoundTrip(RandomMessage(&random));
}

TEST(RaftCodecTest, GarbageNeverCrashes) {
  Random random(5);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    auto result = DecodeRaftMessage(RandomBytes(&random, 64));
    if (result.ok()) {
      ++decoded;
    } else {
      EXPECT_TRUE(result.status().IsCorruption());
    }
  }
  EXPECT_LT(decoded, 20000);
}

TEST(RaftCodecTest, MutatedEncodingsDecodeOrFailCleanly) {
  Random random(6);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = EncodeRaftMessage(RandomMessage(&random));
    if (bytes.empty()) continue;
    bytes[random.Uniform(bytes.size())] = static_cast<char>(random.Next());
    auto result = DecodeRaftMessage(bytes);
    if (!result.ok()) {
      EXPECT_TRUE(result.status().IsCorruption());
    }
  }
}

TEST(RaftCodecTest, MessageWithoutBodyIsCorruption) {
  // Field 1 (from) = "a", field 2 (to) = "b", no body.
  std::string bytes("\x0a\x01" "a" "\x12\x01" "b", 6);
  auto result = DecodeRaftMessage(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("without a body"), std::string::npos);
}

TEST(RaftCodecTest, MissingSenderIsCorruption) {
  raft::Message m{NodeId(""), NodeId("b"), Term(1), raft::TimeoutNow{}};
  EXPECT_TRUE(DecodeRaftMessage(EncodeRaftMessage(m)).status().IsCorruption());
}

TEST(RaftCodecTest, UnknownEntryTypeIsCorruption) {
  raft::AppendRequest a;
  a.entries.push_back({Term(1), LogIndex(1), static_cast<raft::EntryType>(7), "x"});
  auto result = DecodeRaftMessage(EncodeRaftMessage({NodeId("a"), NodeId("b"), Term(1), a}));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("entry type"), std::string::npos);
}

TEST(RaftCodecTest, UnsortedOrOverlappingMembershipIsCorruption) {
  raft::SnapshotMeta unsorted{LogIndex(1), Term(1), {{NodeId("b"), NodeId("a")}, {}}};
  raft::SnapshotMeta overlap{LogIndex(1), Term(1), {{NodeId("a")}, {NodeId("a")}}};
  raft::SnapshotMeta duplicate{LogIndex(1), Term(1), {{NodeId("a"), NodeId("a")}, {}}};
  for (const auto& meta : {unsorted, overlap, duplicate}) {
    auto bytes = EncodeRaftMessage({NodeId("a"), NodeId("b"), Term(1), raft::InstallSnapshotRequest{meta}});
    EXPECT_TRUE(DecodeRaftMessage(bytes).status().IsCorruption());
  }
}

TEST(HelloCodecTest, RoundTripsAndRequiresAVersion) {
  auto hello = DecodeHello(EncodeHello({NodeId("node-1"), 1, "10.0.0.1:4002"}));
  ASSERT_TRUE(hello.ok());
  EXPECT_EQ(hello->node_id, NodeId("node-1"));
  EXPECT_EQ(hello->protocol_version, 1u);
  EXPECT_EQ(hello->raft_addr, "10.0.0.1:4002");
  EXPECT_TRUE(DecodeHello(EncodeHello({NodeId("x"), 0, ""})).status().IsCorruption());
}

command::Response SampleResponse() {
  command::Response r;
  command::StatementResult q;
  q.has_rows = true;
  q.columns = {"id", "name", "score", "pic", "ok", "nothing"};
  q.types = {"integer", "text", "real", "blob", "boolean", ""};
  q.values.push_back({int64_t{1}, std::string("fiona"), 2.5, command::Blob{std::string("\0\1", 2)}, true,
                      std::monostate{}});
  q.values.push_back({int64_t{-9}, std::string(""), -0.0, command::Blob{}, false, std::monostate{}});
  q.time_s = 0.25;
  command::StatementResult w;
  w.last_insert_id = 42;
  w.rows_affected = 3;
  command::StatementResult e;
  e.error = "no such table: foo";
  r.results = {q, w, e};
  r.time_s = 1.5;
  r.raft_index = 77;
  return r;
}

void ExpectSameResponse(const command::Response& a, const command::Response& b) {
  ASSERT_EQ(a.results.size(), b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    const auto& x = a.results[i];
    const auto& y = b.results[i];
    EXPECT_EQ(x.has_rows, y.has_rows);
    EXPECT_EQ(x.columns, y.columns);
    EXPECT_EQ(x.types, y.types);
    EXPECT_EQ(x.values, y.values);
    EXPECT_EQ(x.last_insert_id, y.last_insert_id);
    EXPECT_EQ(x.rows_affected, y.rows_affected);
    EXPECT_EQ(x.error, y.error);
    EXPECT_EQ(x.time_s, y.time_s);
  }
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.time_s, b.time_s);
  EXPECT_EQ(a.raft_index, b.raft_index);
}

TEST(ResponseCodecTest, EveryValueKindRoundTrips) {
  auto decoded = DecodeResponse(EncodeResponse(SampleResponse()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameResponse(*decoded, SampleResponse());
  // Kinds are kept apart: 1 (int), 1.0 (double), true (bool), "1" (text).
  ASSERT_EQ(decoded->results[0].values[0][0].index(), 1u);
  ASSERT_EQ(decoded->results[0].values[0][4].index(), 5u);
}

TEST(ResponseCodecTest, TopLevelErrorRoundTrips) {
  command::Response r;
  r.error = "stale read";
  auto decoded = DecodeResponse(EncodeResponse(r));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->error, "stale read");
  EXPECT_TRUE(decoded->results.empty());
}

TEST(ResponseCodecTest, ValueWithoutKindIsCorruption) {
  // Response{results{rows{values{}}}}: an empty Value message.
  std::string value_row("\x0a\x00", 2);              // Row.values = Value{}
  std::string result = "\x22" + std::string(1, static_cast<char>(value_row.size())) + value_row;  // rows
  std::string bytes = "\x0a" + std::string(1, static_cast<char>(result.size())) + result;        // results
  auto decoded = DecodeResponse(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("without a kind"), std::string::npos);
}

TEST(RpcCodecTest, EveryCallRoundTrips) {
  Credentials creds{"alice", "secret", true};
  std::vector<RpcBody> bodies = {
      JoinRequest{"n2", "127.0.0.1:4002", "http://127.0.0.1:4001", false, creds},
      RemoveRequest{"n3", {}},
      NodeMetaRequest{creds},
      StepDownRequest{"n4", true, {}},
      NotifyRequest{"n5", "10.0.0.5:4002", "10.0.0.5:4001", creds},
  };
  ForwardRequest f;
  f.kind = ForwardKind::kQuery;
  f.request.statements.push_back({"SELECT * FROM foo WHERE id=?", {{"", int64_t{5}}}, false});
  f.request.statements.push_back({"INSERT INTO t VALUES(:x)", {{"x", command::Blob{"zz"}}}, true});
  f.request.transaction = true;
  f.request.db_timeout_ns = 5'000'000;
  f.request.qualify_columns = true;
  f.level = command::Consistency::kLinearizable;
  f.freshness_ns = 1'000'000'000;
  f.freshness_strict = true;
  f.linearizable_timeout_ns = 7;
  f.noparse = f.norwrandom = f.norwtime = f.queue = true;
  f.timeout_ns = 30'000'000'000;
  f.sync_index = 123456789;
  f.credentials = creds;
  bodies.push_back(f);
  BackupRequest backup;
  backup.format = BackupFormat::kSql;
  backup.vacuum = true;
  backup.tables = {"foo", "bar"};
  backup.token = "t0k3n";
  backup.offset = 4 << 20;
  backup.credentials = creds;
  bodies.push_back(backup);
  ForwardRequest load;
  load.kind = ForwardKind::kLoad;
  load.payload = std::string("SQLite format 3\0", 16);
  bodies.push_back(load);
  uint64_t id = 1;
  for (const auto& body : bodies) {
    auto decoded = DecodeRpcCall(EncodeRpcCall({id, body}));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->correlation_id, id);
    EXPECT_TRUE(decoded->body == body) << "body index " << body.index();
    ++id;
  }
}

TEST(RpcCodecTest, ReplyRoundTripsStatusAndFields) {
  RpcReply reply;
  reply.correlation_id = 99;
  reply.status = Status::NotLeader("not leader");
  reply.leader_raft_addr = "10.0.0.1:4002";
  reply.api_url = "http://10.0.0.1:4001";
  reply.version = "v10.0.0";
  reply.commit_index = 1234;
  reply.backup_token = "t0k3n";
  reply.backup_total_bytes = 9 << 20;
  reply.backup_chunk = std::string("SQLite format 3\0", 16);
  reply.response = SampleResponse();
  auto decoded = DecodeRpcReply(EncodeRpcReply(reply));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->correlation_id, 99u);
  EXPECT_TRUE(decoded->status.IsNotLeader());
  EXPECT_EQ(decoded->status.message(), "not leader");
  EXPECT_EQ(decoded->leader_raft_addr, reply.leader_raft_addr);
  EXPECT_EQ(decoded->api_url, reply.api_url);
  EXPECT_EQ(decoded->version, reply.version);
  EXPECT_EQ(decoded->commit_index, 1234u);
  EXPECT_EQ(decoded->backup_token, reply.backup_token);
  EXPECT_EQ(decoded->backup_total_bytes, reply.backup_total_bytes);
  EXPECT_EQ(decoded->backup_chunk, reply.backup_chunk);
  ExpectSameResponse(decoded->response, reply.response);
  EXPECT_TRUE(DecodeRpcReply(EncodeRpcReply(RpcReply{})).value().status.ok());
}

TEST(RpcCodecTest, UnknownStatusCodeIsCorruption) {
  std::string bytes("\x08\x01\x10\x63", 4);  // correlation_id=1, status_code=99
  EXPECT_TRUE(DecodeRpcReply(bytes).status().IsCorruption());
}

TEST(RpcCodecTest, CallWithoutBodyOrWithBadEnumsIsCorruption) {
  EXPECT_TRUE(DecodeRpcCall(std::string("\x08\x05", 2)).status().IsCorruption());
  ForwardRequest f;
  f.level = static_cast<command::Consistency>(9);
  EXPECT_TRUE(DecodeRpcCall(EncodeRpcCall({1, f})).status().IsCorruption());
  f.level = command::Consistency::kWeak;
  f.kind = static_cast<ForwardKind>(42);
  EXPECT_TRUE(DecodeRpcCall(EncodeRpcCall({1, f})).status().IsCorruption());
  EXPECT_TRUE(DecodeRpcCall(EncodeRpcCall({1, JoinRequest{}})).status().IsCorruption());
  BackupRequest backup;
  backup.format = static_cast<BackupFormat>(7);
  EXPECT_TRUE(DecodeRpcCall(EncodeRpcCall({1, backup})).status().IsCorruption());
}

TEST(RpcCodecTest, GarbageNeverCrashes) {
  Random random(77);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = RandomBytes(&random, 80);
    auto call = DecodeRpcCall(bytes);
    if (!call.ok()) {
      EXPECT_TRUE(call.status().IsCorruption());
    }
    auto reply = DecodeRpcReply(bytes);
    if (!reply.ok()) {
      EXPECT_TRUE(reply.status().IsCorruption());
    }
    (void)DecodeSnapshotBegin(bytes);
    (void)DecodeSnapshotEnd(bytes);
    (void)DecodeSnapshotAck(bytes);
    (void)DecodeResponse(bytes);
  }
}

TEST(SnapshotCodecTest, ControlFramesRoundTrip) {
  raft::SnapshotMeta meta{LogIndex(10), Term(2), {{NodeId("a")}, {}}};
  SnapshotBegin begin{{NodeId("a"), NodeId("b"), Term(2), raft::InstallSnapshotRequest{meta}}, 1 << 20};
  auto b = DecodeSnapshotBegin(EncodeSnapshotBegin(begin));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->message, begin.message);
  EXPECT_EQ(b->total_bytes, begin.total_bytes);
  SnapshotEnd end{12345, 0xdeadbeef};
  EXPECT_EQ(DecodeSnapshotEnd(EncodeSnapshotEnd(end)).value(), end);
  SnapshotAck ack{false, "crc mismatch"};
  EXPECT_EQ(DecodeSnapshotAck(EncodeSnapshotAck(ack)).value(), ack);
}

}  // namespace
}  // namespace rq::cluster
