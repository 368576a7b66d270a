// InspectDataDir over in-memory directories shaped like each layout, and
// snapshot meta.json parsing.
#include "upgrade/layout.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/coding.h"
#include "env/mem_file_system.h"

namespace rq::upgrade {
namespace {

const std::string kMeta =
    R"({"Version":1,"ID":"2-346-1796584516259","Index":346,"Term":2,"Peers":null,)"
    R"("Configuration":{"Servers":[{"Suffrage":0,"ID":"1","Address":"127.0.0.1:16002"},)"
    R"({"Suffrage":1,"ID":"3","Address":"127.0.0.1:16006"}]},"ConfigurationIndex":4,"Size":36864})";
const std::string kSqlite = std::string("SQLite format 3\0", 16) + std::string(100, 'd');

class LayoutTest : public ::testing::Test {
 protected:
  void Dir(const std::string& path) { ASSERT_TRUE(fs_.CreateDir(path).ok()) << path; }
  void File(const std::string& path, const std::string& content = "x") {
    ASSERT_TRUE(fs_.WriteFileAtomic(path, content).ok()) << path;
  }
  DataDirInspection Inspect() {
    Result<DataDirInspection> r = InspectDataDir(fs_, "/d");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : DataDirInspection{};
  }
  void SetUp() override { Dir("/d"); }
  env::MemFileSystem fs_;
};

TEST_F(LayoutTest, MissingOrEmptyDirectoryIsEmpty) {
  EXPECT_EQ(InspectDataDir(fs_, "/absent")->kind, DataDirKind::kEmpty);
  EXPECT_EQ(Inspect().kind, DataDirKind::kEmpty);
}

TEST_F(LayoutTest, V8SnapshotStoreIsDetectedWithItsMeta) {
  File("/d/raft.db");
  File("/d/db.sqlite", kSqlite);
  File("/d/db.sqlite-wal", "");
  Dir("/d/rsnapshots");
  Dir("/d/rsnapshots/2-346-1796584516259");
  File("/d/rsnapshots/2-346-1796584516259/meta.json", kMeta);
  File("/d/rsnapshots/2-346-1796584516259.db", kSqlite);
  Dir("/d/raft");
  File("/d/raft/peers.json", "[]");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kGo) << i.Describe();
  EXPECT_EQ(i.go_version, "rqlite v8.0-v9.4");
  EXPECT_TRUE(i.has_peers_json);
  ASSERT_NE(i.latest_snapshot(), nullptr);
  const GoSnapshot& s = *i.latest_snapshot();
  EXPECT_EQ(s.format, GoSnapshotFormat::kV8Database);
  EXPECT_EQ(s.meta.index, 346u);
  EXPECT_EQ(s.meta.term, 2u);
  EXPECT_EQ(s.meta.configuration_index, 4u);
  EXPECT_EQ(s.meta.size, 36864);
  ASSERT_EQ(s.meta.configuration.servers.size(), 2u);
  EXPECT_EQ(s.meta.configuration.servers[1].suffrage, GoSuffrage::kNonvoter);
  EXPECT_EQ(s.data_path, "/d/rsnapshots/2-346-1796584516259.db");
  EXPECT_EQ(*ReadGoSnapshotDatabase(fs_, s), kSqlite);
  EXPECT_NE(i.Describe().find("index 346 term 2"), std::string::npos) << i.Describe();
}

TEST_F(LayoutTest, SnapshotsAreOrderedByTermThenIndex) {
  File("/d/raft.db");
  Dir("/d/rsnapshots");
  for (const char* id : {"3-10-5", "2-900-1", "3-9-7"}) {
    std::string meta = kMeta;
    std::string term = std::string(id).substr(0, 1), index = std::string(id).substr(2, std::string(id).rfind('-') - 2);
    meta.replace(meta.find("\"Index\":346"), 11, "\"Index\":" + index);
    meta.replace(meta.find("\"Term\":2"), 8, "\"Term\":" + term);
    Dir(std::string("/d/rsnapshots/") + id);
    File(std::string("/d/rsnapshots/") + id + "/meta.json", meta);
    File(std::string("/d/rsnapshots/") + id + ".db", kSqlite);
  }
  Dir("/d/rsnapshots/4-1-1.tmp");  // an unfinished one is ignored
  DataDirInspection i = Inspect();
  ASSERT_EQ(i.snapshots.size(), 3u);
  EXPECT_EQ(i.latest_snapshot()->meta.index, 10u);
  EXPECT_EQ(i.snapshots[0].meta.index, 900u);
}

TEST_F(LayoutTest, V10StoreWithFullAndIncrementalSnapshotsIsDetected) {
  File("/d/raft.db");
  File("/d/db.sqlite", kSqlite);
  File("/d/clean_snapshot", R"({"mod_time":"2026-05-01T10:00:00Z","size":4096})");
  Dir("/d/wal-staging");
  Dir("/d/wsnapshots");
  File("/d/wsnapshots/FULL_NEEDED", "");
  Dir("/d/wsnapshots/2-300-1777000000000");
  std::string older = kMeta;
  older.replace(older.find("\"Index\":346"), 11, "\"Index\":300");
  File("/d/wsnapshots/2-300-1777000000000/meta.json", older);
  File("/d/wsnapshots/2-300-1777000000000/data.db", kSqlite);
  File("/d/wsnapshots/2-300-1777000000000/data.db.crc32", "00000000");
  File("/d/wsnapshots/2-300-1777000000000/data-00000000.wal", "w");
  Dir("/d/wsnapshots/2-346-1796584516259");
  File("/d/wsnapshots/2-346-1796584516259/meta.json", kMeta);
  File("/d/wsnapshots/2-346-1796584516259/000000001796584516259000000-000002.wal", "w2");
  File("/d/wsnapshots/2-346-1796584516259/000000001796584516259000000-000001.wal", "w1");
  File("/d/wsnapshots/2-346-1796584516259/000000001796584516259000000-000001.wal.crc32", "00000000");
  Dir("/d/wsnapshots/2-400-1.tmp");  // unfinished: ignored
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kGo) << i.Describe();
  EXPECT_EQ(i.go_version, "rqlite v10+");
  EXPECT_TRUE(i.interrupted_reap.empty());
  ASSERT_EQ(i.snapshots.size(), 2u);
  EXPECT_EQ(i.snapshots[0].format, GoSnapshotFormat::kV10Full);
  EXPECT_EQ(i.snapshots[0].data_path, "/d/wsnapshots/2-300-1777000000000/data.db");
  EXPECT_EQ(i.snapshots[0].wal_paths, std::vector<std::string>{"/d/wsnapshots/2-300-1777000000000/data-00000000.wal"});
  const GoSnapshot& latest = *i.latest_snapshot();
  EXPECT_EQ(latest.format, GoSnapshotFormat::kV10Incremental);
  EXPECT_TRUE(latest.data_path.empty());
  EXPECT_EQ(latest.wal_paths, (std::vector<std::string>{
                                  "/d/wsnapshots/2-346-1796584516259/000000001796584516259000000-000001.wal",
                                  "/d/wsnapshots/2-346-1796584516259/000000001796584516259000000-000002.wal"}));
  for (const char* name : {"raft.db", "wsnapshots/", "clean_snapshot", "wal-staging/"}) {
    EXPECT_NE(std::find(i.go_files.begin(), i.go_files.end(), name), i.go_files.end()) << name;
  }
  EXPECT_TRUE(ReadGoSnapshotDatabase(fs_, latest).status().IsNotFound());
  // The full one's sidecar says 00000000: the image is refused by name.
  Status crc = ReadGoSnapshotDatabase(fs_, i.snapshots[0]).status();
  EXPECT_TRUE(crc.IsCorruption()) << crc.ToString();
  EXPECT_NE(crc.message().find("data.db.crc32"), std::string::npos) << crc.ToString();

  File("/d/wsnapshots/REAP_PLAN", "{}");
  EXPECT_EQ(Inspect().interrupted_reap, "/d/wsnapshots/REAP_PLAN");
}

TEST_F(LayoutTest, V10SnapshotDirectoryWithoutMetaIsRefusedAndAnOlderStoreBesideItIgnored) {
  File("/d/raft.db");
  Dir("/d/rsnapshots");
  Dir("/d/rsnapshots/2-346-1796584516259");
  File("/d/rsnapshots/2-346-1796584516259/meta.json", kMeta);
  File("/d/rsnapshots/2-346-1796584516259.db", kSqlite);
  Dir("/d/wsnapshots");
  Dir("/d/wsnapshots/2-346-1796584516259");
  File("/d/wsnapshots/2-346-1796584516259/meta.json", kMeta);
  File("/d/wsnapshots/2-346-1796584516259/data.db", kSqlite);
  DataDirInspection i = Inspect();
  ASSERT_EQ(i.snapshots.size(), 1u);  // v10's upgrader removes rsnapshots/ once wsnapshots/ exists
  EXPECT_EQ(i.snapshots[0].format, GoSnapshotFormat::kV10Full);
  Dir("/d/wsnapshots/2-300-1");  // an incremental snapshot that lost its meta.json
  File("/d/wsnapshots/2-300-1/0.wal", "w");
  Result<DataDirInspection> damaged = InspectDataDir(fs_, "/d");
  EXPECT_TRUE(damaged.status().IsCorruption()) << damaged.status().ToString();
  EXPECT_NE(damaged.status().message().find("2-300-1 has no meta.json"), std::string::npos);
}

TEST_F(LayoutTest, V10SnapshotsOrderByTheirIdsMillisecondsAfterTermAndIndex) {
  File("/d/raft.db");
  Dir("/d/wsnapshots");
  for (const char* id : {"2-346-900", "2-346-1000", "2-346-1000-2", "2-346-1000-1"}) {
    std::string meta = kMeta;
    meta.replace(meta.find("\"ID\":\"2-346-1796584516259\""), 26, std::string("\"ID\":\"") + id + "\"");
    Dir(std::string("/d/wsnapshots/") + id);
    File(std::string("/d/wsnapshots/") + id + "/meta.json", meta);
    File(std::string("/d/wsnapshots/") + id + "/data.db", kSqlite);
  }
  DataDirInspection i = Inspect();
  ASSERT_EQ(i.snapshots.size(), 4u);
  std::vector<std::string> order;
  for (const GoSnapshot& s : i.snapshots) order.push_back(s.meta.id);
  EXPECT_EQ(order, (std::vector<std::string>{"2-346-900", "2-346-1000", "2-346-1000-1", "2-346-1000-2"}));
}

TEST_F(LayoutTest, V8SnapshotWithAnUnfoldedWalIsListedWithIt) {
  File("/d/raft.db");
  File("/d/clean_snapshot", "{}");  // v9's fingerprint: Go's, not unknown
  Dir("/d/rsnapshots");
  Dir("/d/rsnapshots/2-346-1796584516259");
  File("/d/rsnapshots/2-346-1796584516259/meta.json", kMeta);
  File("/d/rsnapshots/2-346-1796584516259.db-wal", "wal");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kGo) << i.Describe();
  ASSERT_EQ(i.snapshots.size(), 1u);
  EXPECT_TRUE(i.snapshots[0].data_path.empty());
  EXPECT_EQ(i.snapshots[0].wal_paths, std::vector<std::string>{"/d/rsnapshots/2-346-1796584516259.db-wal"});
}

TEST_F(LayoutTest, CrcSidecarsInBothFormatsAreChecked) {
  const std::string data = "123456789";  // CRC32C 0xe3069283
  File("/d/f", data);
  EXPECT_TRUE(CheckGoCrcSidecar(fs_, "/d/f", data).ok());  // no sidecar
  for (const char* good : {"e3069283", "E3069283\n", R"({"crc":"e3069283","type":"castagnoli"})",
                           R"({"crc":"00000000","type":"castagnoli","disabled":true})"}) {
    File("/d/f.crc32", good);
    EXPECT_TRUE(CheckGoCrcSidecar(fs_, "/d/f", data).ok()) << good;
  }
  for (const char* bad : {"e3069284", "e306928", "zz069283", R"({"crc":"e3069283","type":"ieee"})", R"({"crc":1})",
                          "{not json", ""}) {
    File("/d/f.crc32", bad);
    Status s = CheckGoCrcSidecar(fs_, "/d/f", data);
    EXPECT_TRUE(s.IsCorruption()) << bad << ": " << s.ToString();
    EXPECT_NE(s.message().find("/d/f"), std::string::npos) << s.ToString();
  }
}

std::string GzipBytes(const std::string& raw) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, raw.size()) + 32, '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  s.avail_in = static_cast<uInt>(raw.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

TEST_F(LayoutTest, V7FileSnapshotStoreIsDetectedAndItsImageRead) {
  File("/d/raft.db");
  Dir("/d/snapshots");
  Dir("/d/snapshots/2-346-1");
  File("/d/snapshots/2-346-1/meta.json", kMeta);
  File("/d/snapshots/2-346-1/state.bin", std::string(16, '\x01') + GzipBytes(kSqlite));
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kGo);
  EXPECT_EQ(i.go_version, "rqlite v7");
  EXPECT_EQ(*ReadGoSnapshotDatabase(fs_, *i.latest_snapshot()), kSqlite);
}

TEST_F(LayoutTest, V6StateBinHoldsALengthPrefixedDatabase) {
  File("/d/raft.db");
  Dir("/d/snapshots");
  Dir("/d/snapshots/2-346-1");
  File("/d/snapshots/2-346-1/meta.json", kMeta);
  std::string state;
  coding::PutFixed64(&state, kSqlite.size());
  File("/d/snapshots/2-346-1/state.bin", state + kSqlite + R"({"1":{"api_addr":"x"}})");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.go_version, "rqlite v5/v6");
  EXPECT_EQ(*ReadGoSnapshotDatabase(fs_, *i.latest_snapshot()), kSqlite);
}

TEST_F(LayoutTest, RaftDbAloneIsGoWithoutSnapshots) {
  File("/d/raft.db");
  File("/d/db.sqlite", kSqlite);
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kGo);
  EXPECT_EQ(i.latest_snapshot(), nullptr);
  EXPECT_EQ(i.go_version, "rqlite v5-v8");
}

TEST_F(LayoutTest, OurOwnLayoutIsOurs) {
  File("/d/db.sqlite", kSqlite);
  Dir("/d/raft");
  Dir("/d/raft/log");
  File("/d/raft/snapshot.meta");
  Dir("/d/tmp");
  EXPECT_EQ(Inspect().kind, DataDirKind::kOurs);
}

TEST_F(LayoutTest, OurRaftStateStaysOursWhateverLiesBesideIt) {
  // A snapshot transfer cut by kill -9 leaves incoming-*.part; a user may
  // leave a file of their own. Neither may stop a node of ours.
  Dir("/d/raft");
  Dir("/d/raft/log");
  File("/d/raft/incoming-35-2.sqlite.part");
  File("/d/raft/install-35-2.intent");
  File("/d/notes.txt");
  Dir("/d/extensions");
  Dir("/d/go-rqlite");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kOurs);
  EXPECT_EQ(i.unknown_files, (std::vector<std::string>{"notes.txt"}));
  EXPECT_EQ(i.set_aside, (std::vector<std::string>{"go-rqlite/"}));
}

TEST_F(LayoutTest, CdcQueuesBelongToTheProgramThatWroteThem) {
  Dir("/d/raft");
  Dir("/d/raft/log");
  Dir("/d/cdc");
  File("/d/cdc/queue.db");
  DataDirInspection ours = Inspect();
  EXPECT_EQ(ours.kind, DataDirKind::kOurs);
  EXPECT_TRUE(ours.unknown_files.empty());
  EXPECT_NE(std::find(ours.our_files.begin(), ours.our_files.end(), "cdc/"), ours.our_files.end());
}

TEST_F(LayoutTest, GoCdcQueueIsGos) {
  File("/d/raft.db");
  Dir("/d/cdc");
  File("/d/cdc/fifo.db");
  DataDirInspection i = Inspect();
  EXPECT_TRUE(i.unknown_files.empty());
  EXPECT_NE(std::find(i.go_files.begin(), i.go_files.end(), "cdc/"), i.go_files.end());
}

TEST_F(LayoutTest, BothLayoutsAreMixedAndNamed) {
  File("/d/raft.db");
  Dir("/d/raft");
  Dir("/d/raft/log");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kMixed);
  EXPECT_NE(i.Describe().find("raft.db"), std::string::npos);
  EXPECT_NE(i.Describe().find("raft/log"), std::string::npos);
}

TEST_F(LayoutTest, UnknownFilesAreNamed) {
  File("/d/raft.db");
  File("/d/mystery.bin");
  Dir("/d/raft");
  File("/d/raft/strange");
  DataDirInspection i = Inspect();
  EXPECT_EQ(i.kind, DataDirKind::kUnknown);
  EXPECT_EQ(i.unknown_files, (std::vector<std::string>{"mystery.bin", "raft/strange"}));
  EXPECT_NE(i.Describe().find("mystery.bin"), std::string::npos);
}

TEST_F(LayoutTest, LoneDatabaseOrSnapshotsWithoutRaftDbAreUnknown) {
  File("/d/db.sqlite", kSqlite);
  EXPECT_EQ(Inspect().kind, DataDirKind::kUnknown);
  Dir("/d/rsnapshots");
  EXPECT_EQ(Inspect().kind, DataDirKind::kUnknown);
}

TEST_F(LayoutTest, DamagedSnapshotMetaIsAnErrorNamingTheFile) {
  File("/d/raft.db");
  Dir("/d/rsnapshots");
  Dir("/d/rsnapshots/2-346-1");
  File("/d/rsnapshots/2-346-1/meta.json", kMeta.substr(0, 40));
  Status s = InspectDataDir(fs_, "/d").status();
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("/d/rsnapshots/2-346-1/meta.json"), std::string::npos) << s.ToString();
}

TEST(GoSnapshotMetaTest, RefusesBadFields) {
  EXPECT_TRUE(ParseGoSnapshotMeta("[]", "m").status().IsCorruption());
  EXPECT_TRUE(ParseGoSnapshotMeta(R"({"ID":"x","Index":-1,"Term":1})", "m").status().IsCorruption());
  EXPECT_TRUE(ParseGoSnapshotMeta(R"({"ID":"x","Index":5,"Term":0})", "m").status().IsCorruption());
  EXPECT_TRUE(ParseGoSnapshotMeta(R"({"ID":"x","Index":5,"Term":1,"ConfigurationIndex":6})", "m").status().IsCorruption());
  EXPECT_TRUE(
      ParseGoSnapshotMeta(R"({"ID":"x","Index":5,"Term":1,"Configuration":{"Servers":[{"Suffrage":9,"ID":"1"}]}})", "m")
          .status()
          .IsCorruption());
  Result<GoSnapshotMeta> ok = ParseGoSnapshotMeta(R"({"ID":"x","Index":5,"Term":1,"Configuration":null})", "m");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->configuration.servers.empty());
}

}  // namespace
}  // namespace rq::upgrade
