// BuildGoSnapshotImage and CheckSqliteWal over real SQLite WAL files: a
// live database in WAL mode is copied at a checkpoint (the full snapshot),
// then its -wal is copied after each later batch of writes (incremental
// snapshots, as Go rqlite v10 keeps them), and the chain must rebuild the
// live database exactly; damaged files are refused by name.
#include "upgrade/snapshot_image.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "env/posix_file_system.h"
#include "upgrade/sqlite_wal.h"

namespace rq::upgrade {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string Digest(const std::string& db_path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) || '/' || total(k) || '/' || group_concat(v, ',') FROM "
                                   "(SELECT * FROM t ORDER BY k)",
                               -1, &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string out;
  if (sqlite3_step(stmt) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class SnapshotImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/snapshot_image_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (live_ != nullptr) sqlite3_close(live_);
    std::filesystem::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  void Exec(const std::string& sql) { ASSERT_EQ(sqlite3_exec(live_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(live_); }

  // The live database; page_size applies before the first table.
  void OpenLive(int page_size = 4096) {
    ASSERT_EQ(sqlite3_open(Path("live.db").c_str(), &live_), SQLITE_OK);
    Exec("PRAGMA page_size=" + std::to_string(page_size));
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA wal_autocheckpoint=0");
  }
  void Checkpoint() { Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  // A full snapshot at the live state (checkpointed first), and
  // incremental ones of the WAL since.
  GoSnapshot Full(const std::string& id) {
    Checkpoint();
    std::filesystem::create_directories(Path(id));
    std::filesystem::copy_file(Path("live.db"), Path(id + "/data.db"));
    return Snapshot(id, Path(id + "/data.db"), {});
  }
  GoSnapshot Incremental(const std::string& id, int wal_files = 1) {
    std::filesystem::create_directories(Path(id));
    std::vector<std::string> wals;
    for (int n = 0; n < wal_files; ++n) {
      Exec("INSERT INTO t(v) VALUES('" + id + "-" + std::to_string(n) + "')");
      const std::string wal = Path(id + "/" + std::to_string(n) + ".wal");
      std::filesystem::copy_file(Path("live.db-wal"), wal);
      wals.push_back(wal);
      Checkpoint();
    }
    return Snapshot(id, "", wals);
  }
  static GoSnapshot Snapshot(const std::string& id, const std::string& data, std::vector<std::string> wals) {
    GoSnapshot s;
    s.meta.id = id;
    s.meta_path = "/nowhere/" + id + "/meta.json";
    s.format = data.empty() ? GoSnapshotFormat::kV10Incremental : GoSnapshotFormat::kV10Full;
    s.data_path = data;
    s.wal_paths = std::move(wals);
    return s;
  }

  // Three snapshots: full, then two incremental with rows, updates and deletes.
  std::vector<GoSnapshot> Chain() {
    OpenLive();
    Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    for (int i = 0; i < 200; ++i) Exec("INSERT INTO t(v) VALUES('" + std::string(100, 'a' + i % 26) + "')");
    std::vector<GoSnapshot> chain{Full("2-100-1")};
    Exec("BEGIN");
    for (int i = 0; i < 300; ++i) Exec("INSERT INTO t(v) VALUES('b" + std::to_string(i) + "')");
    Exec("UPDATE t SET v = 'updated' WHERE k % 7 = 0");
    Exec("COMMIT");
    chain.push_back(Incremental("2-200-2"));
    Exec("DELETE FROM t WHERE k % 3 = 0");
    chain.push_back(Incremental("2-300-3", 2));
    return chain;
  }

  Status Build(const std::vector<GoSnapshot>& chain, GoSnapshotImage* image = nullptr) {
    Result<GoSnapshotImage> built = BuildGoSnapshotImage(fs_, chain, Path("out.db"));
    if (built.ok() && image != nullptr) *image = *built;
    return built.status();
  }

  std::string dir_;
  sqlite3* live_ = nullptr;
  env::PosixFileSystem fs_;
};

TEST_F(SnapshotImageTest, FullPlusIncrementalWalsRebuildTheLiveDatabase) {
  std::vector<GoSnapshot> chain = Chain();
  const std::string live = Digest(Path("live.db"));
  GoSnapshotImage image;
  ASSERT_TRUE(Build(chain, &image).ok()) << Build(chain).ToString();
  EXPECT_FALSE(std::filesystem::exists(Path("out.db-wal")));
  EXPECT_FALSE(std::filesystem::exists(Path("out.db-shm")));
  EXPECT_EQ(Digest(Path("out.db")), live);
  EXPECT_EQ(image.base_id, "2-100-1");
  EXPECT_EQ(image.wal_files, 3u);
  EXPECT_GT(image.frames, 3u);
  // The snapshot files are untouched: building twice gives the same.
  ASSERT_TRUE(Build(chain).ok());
  EXPECT_EQ(Digest(Path("out.db")), live);
  // An older target stops at its own snapshot.
  std::vector<GoSnapshot> older(chain.begin(), chain.begin() + 2);
  ASSERT_TRUE(Build(older).ok());
  EXPECT_NE(Digest(Path("out.db")), live);
  EXPECT_EQ(Digest(Path("out.db")).substr(0, 4), "501/");
}

TEST_F(SnapshotImageTest, AFullSnapshotsOwnWalsAndCrcSidecarsAreUsed) {
  std::vector<GoSnapshot> chain = Chain();
  // Fold the first incremental's WAL into the full snapshot, as v10 does
  // for a full snapshot received from a leader (data.db + data-N.wal).
  chain[0].wal_paths = chain[1].wal_paths;
  chain.erase(chain.begin() + 1);
  const std::string wal = chain[0].wal_paths[0];
  char hex[9];
  std::snprintf(hex, sizeof(hex), "%08x", crc32c::Value(ReadAll(wal)));
  WriteAll(wal + ".crc32", std::string(R"({"crc":")") + hex + R"(","type":"castagnoli"})");
  std::snprintf(hex, sizeof(hex), "%08x", crc32c::Value(ReadAll(chain[0].data_path)));
  WriteAll(chain[0].data_path + ".crc32", hex);
  ASSERT_TRUE(Build(chain).ok()) << Build(chain).ToString();
  EXPECT_EQ(Digest(Path("out.db")), Digest(Path("live.db")));

  WriteAll(wal + ".crc32", "00000000");
  Status s = Build(chain);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(wal), std::string::npos) << s.ToString();
}

TEST_F(SnapshotImageTest, DamagedWalsAreRefusedNamingTheFile) {
  std::vector<GoSnapshot> chain = Chain();
  const std::string wal = chain[1].wal_paths[0];
  const std::string good = ReadAll(wal);
  Result<SqliteWalSummary> summary = CheckSqliteWal(good, wal);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  ASSERT_GT(summary->frames, 2u);
  const size_t frame = 24 + summary->page_size;

  struct Case {
    std::string name;
    std::string bytes;
    std::string says;
  };
  std::string flipped = good;
  flipped[32 + frame + 24 + 100] ^= 0x40;  // inside the second frame's page
  std::string salted = good;
  salted[32 + 8] ^= 1;  // the first frame's salt
  std::string header = good;
  header[12] ^= 1;  // checkpoint sequence, under the header checksum
  std::vector<Case> cases{
      {"a flipped page byte", flipped, "frame 2 checksum mismatch"},
      {"a foreign frame", salted, "frame 1 is not of this WAL"},
      {"a damaged header", header, "header checksum mismatch"},
      {"cut inside a frame", good.substr(0, good.size() - 10), "ends inside a frame"},
      {"cut before the commit", good.substr(0, 32 + frame), "does not commit"},
      {"not a WAL", std::string(64, 'x'), "bad magic"},
      {"too short", good.substr(0, 20), "shorter than a WAL header"},
  };
  const std::string live = Digest(Path("live.db"));
  for (const Case& c : cases) {
    WriteAll(wal, c.bytes);
    Status s = Build(chain);
    EXPECT_TRUE(s.IsCorruption()) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(wal), std::string::npos) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.name << ": " << s.ToString();
  }
  // A header alone, or an empty file (a reader that opened the snapshot
  // leaves one), is an empty WAL: valid, it changes nothing.
  for (const std::string& empty : {good.substr(0, 32), std::string()}) {
    WriteAll(wal, empty);
    EXPECT_TRUE(CheckSqliteWal(empty, wal).ok());
    ASSERT_TRUE(Build({chain[0], chain[1]}).ok()) << Build({chain[0], chain[1]}).ToString();
    EXPECT_EQ(Digest(Path("out.db")).substr(0, 4), "200/");
  }
}

TEST_F(SnapshotImageTest, AWalOfAnotherPageSizeIsRefused) {
  std::vector<GoSnapshot> chain = Chain();
  sqlite3_close(live_);
  live_ = nullptr;
  std::filesystem::remove(Path("live.db"));
  OpenLive(8192);
  Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  Checkpoint();
  GoSnapshot other = Incremental("2-400-4");
  chain.push_back(other);
  Status s = Build(chain);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("page size 8192"), std::string::npos) << s.ToString();
}

TEST_F(SnapshotImageTest, WalsWithNothingToReplayOntoAreRefused) {
  std::vector<GoSnapshot> chain = Chain();
  Status s = Build({chain[1], chain[2]});
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("2-300-3"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("holds only WALs"), std::string::npos) << s.ToString();
  chain[1].wal_paths.clear();
  s = Build(chain);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("neither a database nor a WAL"), std::string::npos) << s.ToString();
}

// The same WAL with big-endian checksum words (magic 0x377f0683, what a
// big-endian host writes): our check and SQLite both accept it.
TEST_F(SnapshotImageTest, BigEndianChecksumWalsAreReadToo) {
  std::vector<GoSnapshot> chain = Chain();
  for (const std::string& wal : {chain[1].wal_paths[0]}) {
    std::string bytes = ReadAll(wal);
    Result<SqliteWalSummary> summary = CheckSqliteWal(bytes, wal);
    ASSERT_TRUE(summary.ok());
    auto put = [&](size_t at, uint32_t v) {
      for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (24 - 8 * i));
    };
    auto get = [&](size_t at) {
      uint32_t v = 0;
      for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(bytes[at + i]);
      return v;
    };
    uint32_t s1 = 0, s2 = 0;
    auto sum = [&](size_t from, size_t size) {
      for (size_t i = from; i < from + size; i += 8) {
        s1 += get(i) + s2;
        s2 += get(i + 4) + s1;
      }
    };
    put(0, 0x377f0683);
    sum(0, 24);
    put(24, s1);
    put(28, s2);
    const size_t frame = 24 + summary->page_size;
    for (size_t at = 32; at < bytes.size(); at += frame) {
      sum(at, 8);
      sum(at + 24, summary->page_size);
      put(at + 16, s1);
      put(at + 20, s2);
    }
    ASSERT_TRUE(CheckSqliteWal(bytes, wal).ok()) << CheckSqliteWal(bytes, wal).status().ToString();
    WriteAll(wal, bytes);
  }
  ASSERT_TRUE(Build(chain).ok()) << Build(chain).ToString();
  EXPECT_EQ(Digest(Path("out.db")), Digest(Path("live.db")));
}

}  // namespace
}  // namespace rq::upgrade
