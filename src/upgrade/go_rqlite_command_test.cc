// Go rqlite commands: every type under both dialects, gzip-compressed
// sub-commands, legacy JSON, and malformed input.
#include "upgrade/go_rqlite_command.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "go_command.pb.h"
#include "upgrade/gzip.h"

namespace rq::upgrade {
namespace {

namespace pb = rq::upgrade::goproto;

std::string Gzip(const std::string& raw) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&s, raw.size()) + 32, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

pb::Request SampleRequest() {
  pb::Request r;
  r.set_transaction(true);
  pb::Statement* s = r.add_statements();
  s->set_sql("INSERT INTO foo(name, score, data) VALUES(?, ?, ?)");
  s->add_parameters()->set_s("name-1");
  s->add_parameters()->set_d(1.5);
  s->add_parameters()->set_y(std::string("\x00\xff\x10", 3));
  pb::Parameter* named = s->add_parameters();
  named->set_i(-42);
  named->set_name("n");
  s->add_parameters()->set_b(true);
  s->add_parameters();  // null
  r.add_statements()->set_sql("SELECT 1");
  return r;
}

std::string CommandBytes(int type, const std::string& sub, bool compress) {
  pb::Command c;
  c.set_type(type);
  c.set_sub_command(compress ? Gzip(sub) : sub);
  c.set_compressed(compress);
  return c.SerializeAsString();
}

void ExpectSampleRequest(const GoRequest& r) {
  EXPECT_TRUE(r.transaction);
  ASSERT_EQ(r.statements.size(), 2u);
  const GoStatement& s = r.statements[0];
  EXPECT_EQ(s.sql, "INSERT INTO foo(name, score, data) VALUES(?, ?, ?)");
  ASSERT_EQ(s.parameters.size(), 6u);
  EXPECT_EQ(std::get<std::string>(s.parameters[0].value), "name-1");
  EXPECT_EQ(std::get<double>(s.parameters[1].value), 1.5);
  EXPECT_EQ(std::get<GoBlob>(s.parameters[2].value).bytes, std::string("\x00\xff\x10", 3));
  EXPECT_EQ(std::get<int64_t>(s.parameters[3].value), -42);
  EXPECT_EQ(s.parameters[3].name, "n");
  EXPECT_TRUE(std::get<bool>(s.parameters[4].value));
  EXPECT_TRUE(std::holds_alternative<GoNull>(s.parameters[5].value));
  EXPECT_EQ(r.statements[1].sql, "SELECT 1");
}

TEST(GoRqliteCommandTest, ExecuteQueryAndExecuteQueryRequests) {
  pb::ExecuteRequest e;
  *e.mutable_request() = SampleRequest();
  pb::QueryRequest q;
  *q.mutable_request() = SampleRequest();
  q.set_level(2);
  pb::ExecuteQueryRequest eq;
  *eq.mutable_request() = SampleRequest();
  struct Case {
    int type;
    std::string sub;
    GoCommandKind kind;
  } cases[] = {{2, e.SerializeAsString(), GoCommandKind::kExecute},
               {1, q.SerializeAsString(), GoCommandKind::kQuery},
               {6, eq.SerializeAsString(), GoCommandKind::kExecuteQuery}};
  for (const Case& c : cases) {
    for (bool compress : {false, true}) {
      Result<GoCommand> cmd = DecodeGoCommand(CommandBytes(c.type, c.sub, compress), GoCommandDialect::kV7Plus);
      ASSERT_TRUE(cmd.ok()) << cmd.status().ToString();
      EXPECT_EQ(cmd->kind, c.kind);
      EXPECT_EQ(cmd->compressed, compress);
      ExpectSampleRequest(cmd->request);
    }
  }
}

TEST(GoRqliteCommandTest, NoopLoadJoinAndLoadChunk) {
  pb::Noop noop;
  noop.set_id("node-1");
  Result<GoCommand> n = DecodeGoCommand(CommandBytes(3, noop.SerializeAsString(), false), GoCommandDialect::kV7Plus);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->kind, GoCommandKind::kNoop);
  EXPECT_EQ(n->node_id, "node-1");

  std::string image = std::string("SQLite format 3\0", 16) + std::string(2000, 'p');
  pb::LoadRequest load;
  load.set_data(Gzip(image));
  Result<GoCommand> l = DecodeGoCommand(CommandBytes(4, load.SerializeAsString(), false), GoCommandDialect::kV7Plus);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->kind, GoCommandKind::kLoad);
  EXPECT_EQ(l->database, image);

  pb::JoinRequest join;
  join.set_id("3");
  join.set_address("127.0.0.1:16006");
  join.set_voter(true);
  Result<GoCommand> j = DecodeGoCommand(CommandBytes(5, join.SerializeAsString(), false), GoCommandDialect::kV7Plus);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->join_address, "127.0.0.1:16006");
  EXPECT_TRUE(j->join_voter);

  pb::LoadChunkRequest chunk;
  chunk.set_stream_id("s");
  chunk.set_sequence_num(4);
  chunk.set_is_last(true);
  chunk.set_data("abc");
  Result<GoCommand> c = DecodeGoCommand(CommandBytes(7, chunk.SerializeAsString(), false), GoCommandDialect::kV7Plus);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->load_chunk.sequence_number, 4);
  EXPECT_TRUE(c->load_chunk.is_last);
  EXPECT_EQ(c->load_chunk.data, "abc");
}

TEST(GoRqliteCommandTest, V5V6DialectReadsMetadataCommands) {
  pb::MetadataSet set;
  set.set_raft_id("1");
  pb::MetadataEntry* entry = set.add_data();
  entry->set_key("api_addr");
  entry->set_value("127.0.0.1:16011");
  std::string data = CommandBytes(3, set.SerializeAsString(), false);
  Result<GoCommand> m = DecodeGoCommand(data, GoCommandDialect::kV5V6);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, GoCommandKind::kMetadataSet);
  EXPECT_EQ(m->node_id, "1");
  EXPECT_EQ(m->metadata.at("api_addr"), "127.0.0.1:16011");
  EXPECT_EQ(GuessGoCommandDialect({data}), GoCommandDialect::kV5V6);

  pb::MetadataDelete del;
  del.set_raft_id("2");
  Result<GoCommand> d = DecodeGoCommand(CommandBytes(4, del.SerializeAsString(), false), GoCommandDialect::kV5V6);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, GoCommandKind::kMetadataDelete);
  EXPECT_EQ(d->node_id, "2");
  EXPECT_EQ(DecodeGoCommand(CommandBytes(5, "", false), GoCommandDialect::kV5V6)->kind, GoCommandKind::kNoop);

  pb::Noop noop;
  noop.set_id("x");
  EXPECT_EQ(GuessGoCommandDialect({CommandBytes(3, noop.SerializeAsString(), false)}), GoCommandDialect::kV7Plus);
}

TEST(GoRqliteCommandTest, LegacyJsonCommands) {
  Result<GoCommand> e = DecodeGoCommand(
      R"j({"typ":0,"sub":{"tx":true,"queries":["INSERT INTO t VALUES(?, ?)","SELECT 2"],)j"
      R"j("Parameters":[[5,"five"],[]],"timings":false}})j",
      GoCommandDialect::kV7Plus);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(e->legacy_json);
  EXPECT_EQ(e->kind, GoCommandKind::kExecute);
  EXPECT_TRUE(e->request.transaction);
  ASSERT_EQ(e->request.statements.size(), 2u);
  EXPECT_EQ(std::get<double>(e->request.statements[0].parameters[0].value), 5.0);  // as Go read it
  EXPECT_EQ(std::get<std::string>(e->request.statements[0].parameters[1].value), "five");

  Result<GoCommand> q = DecodeGoCommand(R"({"typ":1,"sub":{"queries":["SELECT 1"]}})", GoCommandDialect::kV7Plus);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->kind, GoCommandKind::kQuery);
  Result<GoCommand> m = DecodeGoCommand(R"({"typ":2,"sub":{"raft_id":"1","data":{"api_addr":"h:1"}}})",
                                        GoCommandDialect::kV7Plus);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->metadata.at("api_addr"), "h:1");
  EXPECT_EQ(DecodeGoCommand(R"({"typ":3,"sub":"1"})", GoCommandDialect::kV7Plus)->kind,
            GoCommandKind::kMetadataDelete);
  EXPECT_EQ(GuessGoCommandDialect({"{}"}), GoCommandDialect::kV5V6);
}

TEST(GoRqliteCommandTest, MalformedCommandsAreCorruption) {
  const GoCommandDialect v7 = GoCommandDialect::kV7Plus;
  EXPECT_TRUE(DecodeGoCommand("\xff\xff\xff", v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand(CommandBytes(99, "", false), v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand(CommandBytes(2, "not gzip", true), v7).status().IsCorruption());
  std::string gz = Gzip(std::string(5000, 'a'));
  pb::Command truncated;
  truncated.set_type(2);
  truncated.set_compressed(true);
  truncated.set_sub_command(gz.substr(0, gz.size() - 5));
  EXPECT_TRUE(DecodeGoCommand(truncated.SerializeAsString(), v7).status().IsCorruption());
  pb::LoadRequest load;
  load.set_data("raw, not gzip");
  EXPECT_TRUE(DecodeGoCommand(CommandBytes(4, load.SerializeAsString(), false), v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand("{not json", v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand(R"({"typ":9})", v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand(R"({"typ":0,"sub":{"queries":[1]}})", v7).status().IsCorruption());
  EXPECT_TRUE(DecodeGoCommand(R"({"typ":0,"sub":{"queries":["a"],"Parameters":[[null]]}})", v7).status().IsCorruption());
}

TEST(GoRqliteCommandTest, GunzipLimitsAndConcatenatedMembers) {
  std::string big = Gzip(std::string(100000, 'z'));
  EXPECT_TRUE(Gunzip(big, "t", 1000).status().IsCorruption());
  Result<std::string> two = Gunzip(Gzip("ab") + Gzip("cd"), "t");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, "abcd");
  EXPECT_TRUE(Gunzip(Gzip("ab") + "junk", "t").status().IsCorruption());
  EXPECT_TRUE(Gunzip("", "t").status().IsCorruption());
}

}  // namespace
}  // namespace rq::upgrade
