// Auto-restore: gzip and plain backups, a missing object, corrupt data, a
// timeout, the downloader counters and continue_on_failure.
#include "backup/restore.h"

#include <gtest/gtest.h>
#include <dirent.h>
#include <sqlite3.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "backup/codec.h"
#include "backup/test_files.h"
#include "backup/file_storage.h"

namespace rq::backup {
namespace {

using test_files::ReadAll;
using test_files::CountFiles;

void Exec(sqlite3* db, const char* sql) { ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql; }

// A database with a table of `rows` rows, in WAL mode as rqlite's backups are.
void MakeDatabase(const std::string& path, int rows) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Exec(db, "PRAGMA journal_mode=WAL");
  Exec(db, "CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)");
  Exec(db, "CREATE INDEX foo_name ON foo(name)");
  Exec(db, "BEGIN");
  for (int i = 0; i < rows; ++i) {
    std::string sql = "INSERT INTO foo(name) VALUES('name-" + std::to_string(i) + "-" + std::string(40, 'x') + "')";
    Exec(db, sql.c_str());
  }
  Exec(db, "COMMIT");
  Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

int64_t CountRows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM foo", -1, &stmt, nullptr);
  int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

class SlowStorage : public StorageClient {
 public:
  Result<UploadResult> Upload(const std::string&, const ObjectMetadata&, std::chrono::system_clock::time_point) override {
    return Status::NotSupported("slow");
  }
  Status Download(const std::string& path, Deadline) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    std::ofstream(path) << "late";
    return Status::OK();
  }
  Result<ObjectMetadata> CurrentMetadata() override { return Status::NotFound("none"); }
  std::string Describe() const override { return "slow://"; }
};

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/restore-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf " + root_ + " && mkdir -p " + root_ + "/backups " + root_ + "/data").c_str()), 0);
    options_.dir = root_ + "/data";
  }

  // Puts `path` into the file storage as "db.bak".
  void Store(const std::string& path) {
    auto storage = FileStorage::Open({root_ + "/backups", "db.bak"}, false);
    ASSERT_TRUE((*storage)->Upload(path, {}, std::chrono::system_clock::now()).ok());
  }

  std::unique_ptr<FileStorage> Storage() { return std::move(FileStorage::Open({root_ + "/backups", "db.bak"}, false)).value(); }

  std::string WriteConfig(bool continue_on_failure, const std::string& sub_dir) {
    std::string path = root_ + "/restore.json";
    std::ofstream(path) << R"({"version":1,"type":"file","timeout":"5s","continue_on_failure":)"
                        << (continue_on_failure ? "true" : "false") << R"(,"sub":{"dir":"$BACKUP_DIR","name":"db.bak"}})";
    env_ = [sub_dir](const std::string& name) -> std::optional<std::string> {
      if (name == "BACKUP_DIR") return sub_dir;
      return std::nullopt;
    };
    return path;
  }

  std::string root_;
  RestoreOptions options_;
  EnvLookup env_;
};

TEST_F(RestoreTest, GzippedDatabaseIsRestored) {
  MakeDatabase(root_ + "/src.db", 500);
  ASSERT_TRUE(GzipFile(root_ + "/src.db", root_ + "/src.db.gz").ok());
  Store(root_ + "/src.db.gz");
  DownloaderMetrics& m = DownloaderCounters();
  int64_t ok_before = m.num_downloads_ok.value();
  int64_t bytes_before = m.download_bytes.value();
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE(file->was_compressed);
  EXPECT_EQ(ReadAll(file->path), ReadAll(root_ + "/src.db"));
  EXPECT_EQ(CountFiles(options_.dir), 1);  // only the result: the download is gone, the check left no -wal/-shm
  EXPECT_EQ(CountRows(file->path), 500);
  EXPECT_EQ(m.num_downloads_ok.value() - ok_before, 1);
  EXPECT_EQ(m.download_bytes.value() - bytes_before, static_cast<int64_t>(*FileSize(root_ + "/src.db.gz")));
}

TEST_F(RestoreTest, PlainDatabaseIsRestored) {
  MakeDatabase(root_ + "/src.db", 10);
  Store(root_ + "/src.db");
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_FALSE(file->was_compressed);
  EXPECT_EQ(CountRows(file->path), 10);
}

TEST_F(RestoreTest, MissingObjectIsNotFoundAndLeavesNothing) {
  DownloaderMetrics& m = DownloaderCounters();
  int64_t fail_before = m.num_downloads_fail.value();
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
  EXPECT_EQ(CountFiles(options_.dir), 0);
  EXPECT_EQ(m.num_downloads_fail.value() - fail_before, 1);
}

TEST_F(RestoreTest, TruncatedGzipIsCorruption) {
  MakeDatabase(root_ + "/src.db", 200);
  ASSERT_TRUE(GzipFile(root_ + "/src.db", root_ + "/src.db.gz").ok());
  std::string gz = ReadAll(root_ + "/src.db.gz");
  std::ofstream(root_ + "/cut.gz", std::ios::binary) << gz.substr(0, gz.size() - 100);
  Store(root_ + "/cut.gz");
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsCorruption()) << file.status().ToString();
  EXPECT_EQ(CountFiles(options_.dir), 0);
}

TEST_F(RestoreTest, DataThatIsNotSqliteIsCorruption) {
  std::ofstream(root_ + "/text") << "this is not a database, just some text long enough";
  Store(root_ + "/text");
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsCorruption());
  EXPECT_NE(file.status().message().find("not a SQLite database"), std::string::npos);
  EXPECT_EQ(CountFiles(options_.dir), 0);
}

TEST_F(RestoreTest, DamagedDatabaseFailsTheIntegrityCheck) {
  MakeDatabase(root_ + "/src.db", 2000);
  std::string bytes = ReadAll(root_ + "/src.db");
  ASSERT_GT(bytes.size(), 40000u);
  for (size_t i = 3 * 4096 + 100; i < 3 * 4096 + 3000; ++i) bytes[i] = static_cast<char>(i * 13);  // inside page 4
  std::ofstream(root_ + "/damaged.db", std::ios::binary) << bytes;
  ASSERT_TRUE(GzipFile(root_ + "/damaged.db", root_ + "/damaged.db.gz").ok());
  Store(root_ + "/damaged.db.gz");
  Result<RestoredFile> file = DownloadAndCheck(*Storage(), options_);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsCorruption()) << file.status().ToString();
  EXPECT_EQ(CountFiles(options_.dir), 0);
  // Without the integrity check the header alone passes.
  options_.integrity_check = false;
  EXPECT_TRUE(DownloadAndCheck(*Storage(), options_).ok());
}

TEST_F(RestoreTest, TimeoutIsReported) {
  SlowStorage slow;
  options_.timeout = std::chrono::milliseconds(50);
  Result<RestoredFile> file = DownloadAndCheck(slow, options_);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsTimeout()) << file.status().ToString();
  EXPECT_NE(file.status().message().find("50ms"), std::string::npos);
  EXPECT_EQ(CountFiles(options_.dir), 0);
}

TEST_F(RestoreTest, AutoRestoreLoadsAGoodBackup) {
  MakeDatabase(root_ + "/src.db", 3);
  ASSERT_TRUE(GzipFile(root_ + "/src.db", root_ + "/src.db.gz").ok());
  Store(root_ + "/src.db.gz");
  std::string config = WriteConfig(false, root_ + "/backups");
  Result<AutoRestoreResult> result = RunAutoRestore(config, options_.dir, env_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->action, AutoRestoreResult::Action::kLoad);
  EXPECT_EQ(CountRows(result->file.path), 3);
}

TEST_F(RestoreTest, AutoRestoreFailureStopsUnlessContinueOnFailure) {
  std::string config = WriteConfig(false, root_ + "/backups");  // empty: no object
  Result<AutoRestoreResult> stop = RunAutoRestore(config, options_.dir, env_);
  ASSERT_FALSE(stop.ok());
  EXPECT_TRUE(stop.status().IsNotFound()) << stop.status().ToString();
  EXPECT_NE(stop.status().message().find("auto-restore from dir:"), std::string::npos);

  config = WriteConfig(true, root_ + "/backups");
  Result<AutoRestoreResult> go_on = RunAutoRestore(config, options_.dir, env_);
  ASSERT_TRUE(go_on.ok()) << go_on.status().ToString();
  EXPECT_EQ(go_on->action, AutoRestoreResult::Action::kContinue);
  EXPECT_TRUE(go_on->error.IsNotFound());
  EXPECT_EQ(CountFiles(options_.dir), 0);
}

TEST_F(RestoreTest, AutoRestoreCorruptObjectContinuesOnlyWhenAsked) {
  std::ofstream(root_ + "/junk") << "junk junk junk junk junk";
  Store(root_ + "/junk");
  EXPECT_TRUE(RunAutoRestore(WriteConfig(false, root_ + "/backups"), options_.dir, env_).status().IsCorruption());
  Result<AutoRestoreResult> go_on = RunAutoRestore(WriteConfig(true, root_ + "/backups"), options_.dir, env_);
  ASSERT_TRUE(go_on.ok());
  EXPECT_EQ(go_on->action, AutoRestoreResult::Action::kContinue);
  EXPECT_TRUE(go_on->error.IsCorruption());
}

TEST_F(RestoreTest, BadConfigIsAnErrorEvenWithContinueOnFailure) {
  std::string path = root_ + "/bad.json";
  std::ofstream(path) << R"({"version":1,"type":"nfs","continue_on_failure":true,"sub":{}})";
  Result<AutoRestoreResult> result = RunAutoRestore(path, options_.dir, env_);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.status().IsInvalidArgument());
}

}  // namespace
}  // namespace rq::backup
