// raft-boltdb's store: log records, the conf bucket, configurations, and
// the refusals (gap, key mismatch, damaged record, missing bucket).
#include "upgrade/go_raft_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upgrade/bolt_test_util.h"

namespace rq::upgrade {
namespace {

using testing::BigEndian64;
using testing::BoltElem;
using testing::GoLogRecord;

std::vector<BoltElem> Conf(uint64_t term, uint64_t vote_term, std::string candidate) {
  std::vector<BoltElem> conf{{"CurrentTerm", BigEndian64(term)}};
  if (!candidate.empty()) conf.push_back({"LastVoteCand", candidate});
  conf.push_back({"LastVoteTerm", BigEndian64(vote_term)});
  conf.push_back({"rqlite_base_vacuum", ""});
  return conf;
}

std::vector<BoltElem> Logs(uint64_t first, uint64_t last) {
  std::vector<BoltElem> logs;
  for (uint64_t i = first; i <= last; ++i) {
    std::string data = i == first ? testing::GoConfigurationRecord({{"1", "a:1"}, {"2", "b:2"}}) : "cmd" + std::to_string(i);
    logs.push_back({BigEndian64(i), GoLogRecord(i, 1 + i / 10, i == first ? 5 : 0, data)});
  }
  return logs;
}

Result<GoRaftStore> Open(std::string file) {
  Result<BoltReader> bolt = BoltReader::FromBytes("raft.db", std::move(file));
  if (!bolt.ok()) return bolt.status();
  return GoRaftStore::FromBolt(std::move(*bolt));
}

TEST(GoRaftLogTest, ReadsHardStateAndEntries) {
  Result<GoRaftStore> store = Open(testing::GoRaftDbFile(Conf(3, 2, "b:2"), Logs(1, 25), 7));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->hard_state().current_term, 3u);
  EXPECT_EQ(store->hard_state().last_vote_term, 2u);
  EXPECT_EQ(store->hard_state().last_vote_candidate, "b:2");
  EXPECT_EQ(store->buckets(), (std::vector<std::string>{"conf", "logs"}));
  EXPECT_EQ(store->conf_keys().size(), 4u);
  Result<std::vector<GoLogEntry>> entries = store->ReadAll();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 25u);
  EXPECT_EQ(entries->front().type, static_cast<uint8_t>(GoLogType::kConfiguration));
  EXPECT_EQ(entries->back().index, 25u);
  EXPECT_EQ(entries->back().term, 3u);
  EXPECT_EQ(entries->back().data, "cmd25");
  EXPECT_FALSE(entries->back().appended_at_unix_ns.has_value());
  auto config = LatestConfiguration(*entries);
  ASSERT_TRUE(config.ok() && config->has_value());
  ASSERT_EQ((*config)->servers.size(), 2u);
  EXPECT_EQ((*config)->servers[1], (GoServer{GoSuffrage::kVoter, "2", "b:2"}));
  EXPECT_EQ((*config)->FindByAddress("b:2")->id, "2");
}

TEST(GoRaftLogTest, MissingConfKeysMeanZero) {
  Result<GoRaftStore> store = Open(testing::GoRaftDbFile({}, Logs(5, 6)));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->hard_state().current_term, 0u);
  EXPECT_TRUE(store->hard_state().last_vote_candidate.empty());
  EXPECT_EQ(store->ReadAll()->front().index, 5u);
}

TEST(GoRaftLogTest, GapInTheLogIsCorruption) {
  std::vector<BoltElem> logs = Logs(1, 10);
  logs.erase(logs.begin() + 4);
  Status s = Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("gap"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("raft.db"), std::string::npos) << s.ToString();
}

TEST(GoRaftLogTest, KeyNotMatchingIndexIsCorruption) {
  std::vector<BoltElem> logs = Logs(1, 3);
  logs[1].value = GoLogRecord(7, 1, 0, "x");
  EXPECT_TRUE(Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status().IsCorruption());
  logs = Logs(1, 3);
  logs[2].key = "short";
  EXPECT_TRUE(Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status().IsCorruption());
}

TEST(GoRaftLogTest, MalformedRecordIsCorruptionNamingTheEntry) {
  std::vector<BoltElem> logs = Logs(1, 3);
  logs[1].value = "\x85\xa4" "Data";  // truncated msgpack
  Status s = Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("log entry 2"), std::string::npos) << s.ToString();
  logs[1].value = "\x93\x01\x02\x03";  // an array, not a map
  EXPECT_TRUE(Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status().IsCorruption());
}

TEST(GoRaftLogTest, TermGoingBackwardsIsCorruption) {
  std::vector<BoltElem> logs = Logs(1, 3);
  logs[2].value = GoLogRecord(3, 0, 0, "x");
  EXPECT_TRUE(Open(testing::GoRaftDbFile(Conf(1, 1, ""), logs))->ReadAll().status().IsCorruption());
}

TEST(GoRaftLogTest, BadConfValueIsCorruption) {
  Status s = Open(testing::GoRaftDbFile({{"CurrentTerm", "\x01\x02"}}, Logs(1, 2))).status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("CurrentTerm"), std::string::npos);
}

TEST(GoRaftLogTest, FileWithoutRaftBucketsIsRefused) {
  testing::BoltFileBuilder b;
  uint64_t leaf = b.AddLeaf({{"k", "v"}});
  uint64_t root = b.AddLeaf({{"other", testing::BoltFileBuilder::BucketValue(leaf), true}});
  Status s = Open(b.Finish(root)).status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("logs"), std::string::npos) << s.ToString();
}

TEST(GoRaftLogTest, AppendedAtTimestampsDecode) {
  // The fixture's v8 form: raw bytes of a timestamp-64 body.
  EXPECT_EQ(DecodeGoTime(std::string("\xd1\x80\xc7\x60\x6b\x15\xb4\x3e", 8)), 1796584510LL * 1'000'000'000 + 878719448);
  EXPECT_EQ(DecodeGoTime(std::string("\x6b\x15\xb4\x3e", 4)), 1796584510LL * 1'000'000'000);
  EXPECT_EQ(DecodeGoTime(std::string("\x00\x00\x00\x05\x00\x00\x00\x00\x6b\x15\xb4\x3e", 12)),
            1796584510LL * 1'000'000'000 + 5);
  // go-msgpack 0.5.5's zero time (time.MarshalBinary): no time.
  EXPECT_FALSE(DecodeGoTime(std::string("\x01\0\0\0\0\0\0\0\0\0\0\0\0\xff\xff", 15)).has_value());
  EXPECT_FALSE(DecodeGoTime("abc").has_value());
  EXPECT_FALSE(DecodeGoTime(std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8)).has_value());  // nanos too big
  EXPECT_FALSE(DecodeGoTime(std::string("\x00\x00\x00\x03\xff\xff\xff\xff", 8)).has_value());  // seconds overflow ns

  testing::MsgpackWriter w;
  w.Map(6).Str("AppendedAt").Str(std::string("\xd1\x80\xc7\x60\x6b\x15\xb4\x3e", 8)).Str("Data").Nil();
  w.Str("Extensions").Nil().Str("Index").Uint(9).Str("Term").Uint(2).Str("Type").Uint(1);
  Result<GoLogEntry> e = DecodeGoLogEntry(w.bytes());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->appended_at_unix_ns, 1796584510LL * 1'000'000'000 + 878719448);
  EXPECT_EQ(e->type, static_cast<uint8_t>(GoLogType::kNoop));
}

TEST(GoRaftLogTest, ConfigurationSuffrageAndErrors) {
  testing::MsgpackWriter w;
  w.Map(1).Str("Servers").Array(2);
  w.Map(3).Str("Address").Str("a:1").Str("ID").Str("1").Str("Suffrage").Uint(1);
  w.Map(3).Str("Address").Str("b:2").Str("ID").Str("2").Str("Suffrage").Uint(2);
  Result<GoConfiguration> c = DecodeGoConfiguration(w.bytes());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->servers[0].suffrage, GoSuffrage::kNonvoter);
  EXPECT_EQ(c->servers[1].suffrage, GoSuffrage::kStaging);
  EXPECT_STREQ(GoSuffrageName(c->servers[1].suffrage), "Staging");

  testing::MsgpackWriter bad;
  bad.Map(1).Str("Servers").Array(1).Map(3).Str("Address").Str("a").Str("ID").Str("1").Str("Suffrage").Uint(7);
  EXPECT_TRUE(DecodeGoConfiguration(bad.bytes()).status().IsCorruption());
  testing::MsgpackWriter twice;
  twice.Map(1).Str("Servers").Array(2);
  twice.Map(2).Str("ID").Str("1").Str("Address").Str("a");
  twice.Map(2).Str("ID").Str("1").Str("Address").Str("b");
  EXPECT_TRUE(DecodeGoConfiguration(twice.bytes()).status().IsCorruption());
  EXPECT_TRUE(DecodeGoConfiguration("\x01").status().IsCorruption());
}

}  // namespace
}  // namespace rq::upgrade
