// Failures of this node's environment (a full disk) against failures of the
// SQL itself: only the latter may be recorded as a statement's result when a
// log entry is applied (see command::StatementResult::environmental).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "db/database.h"

namespace rq::db {
namespace {

using command::Request;
using command::Response;
using command::Statement;

// A VFS that forwards to the default one, except that writes fail with
// SQLITE_FULL (as the unix VFS reports ENOSPC) while disk_full is set.
std::atomic<bool> disk_full{false};
sqlite3_vfs* real_vfs = nullptr;

struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }

int ShimClose(sqlite3_file* f) { return Shim(f)->real()->pMethods->xClose(Shim(f)->real()); }
int ShimRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Shim(f)->real()->pMethods->xRead(Shim(f)->real(), buf, n, off);
}
int ShimWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (disk_full) return SQLITE_FULL;
  return Shim(f)->real()->pMethods->xWrite(Shim(f)->real(), buf, n, off);
}
int ShimTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return Shim(f)->real()->pMethods->xTruncate(Shim(f)->real(), size);
}
int ShimSync(sqlite3_file* f, int flags) { return Shim(f)->real()->pMethods->xSync(Shim(f)->real(), flags); }
int ShimFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Shim(f)->real()->pMethods->xFileSize(Shim(f)->real(), size);
}
int ShimLock(sqlite3_file* f, int level) { return Shim(f)->real()->pMethods->xLock(Shim(f)->real(), level); }
int ShimUnlock(sqlite3_file* f, int level) { return Shim(f)->real()->pMethods->xUnlock(Shim(f)->real(), level); }
int ShimCheckReservedLock(sqlite3_file* f, int* out) {
  return Shim(f)->real()->pMethods->xCheckReservedLock(Shim(f)->real(), out);
}
int ShimFileControl(sqlite3_file* f, int op, void* arg) {
  return Shim(f)->real()->pMethods->xFileControl(Shim(f)->real(), op, arg);
}
int ShimSectorSize(sqlite3_file* f) { return Shim(f)->real()->pMethods->xSectorSize(Shim(f)->real()); }
int ShimDeviceCharacteristics(sqlite3_file* f) {
  return Shim(f)->real()->pMethods->xDeviceCharacteristics(Shim(f)->real());
}
int ShimShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Shim(f)->real()->pMethods->xShmMap(Shim(f)->real(), region, size, extend, out);
}
int ShimShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Shim(f)->real()->pMethods->xShmLock(Shim(f)->real(), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* f) { Shim(f)->real()->pMethods->xShmBarrier(Shim(f)->real()); }
int ShimShmUnmap(sqlite3_file* f, int del) { return Shim(f)->real()->pMethods->xShmUnmap(Shim(f)->real(), del); }
int ShimFetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Shim(f)->real()->pMethods->xFetch(Shim(f)->real(), off, n, out);
}
int ShimUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Shim(f)->real()->pMethods->xUnfetch(Shim(f)->real(), off, p);
}

const sqlite3_io_methods kShimMethods = {
    3,  // iVersion: up to xFetch/xUnfetch
    ShimClose,      ShimRead,        ShimWrite,       ShimTruncate,
    ShimSync,       ShimFileSize,    ShimLock,        ShimUnlock,
    ShimCheckReservedLock,           ShimFileControl, ShimSectorSize,
    ShimDeviceCharacteristics,       ShimShmMap,      ShimShmLock,
    ShimShmBarrier, ShimShmUnmap,    ShimFetch,       ShimUnfetch,
};

int ShimOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  ShimFile* shim = Shim(f);
  shim->base.pMethods = nullptr;
  const int rc = real_vfs->xOpen(real_vfs, name, shim->real(), flags, out_flags);
  if (rc == SQLITE_OK) shim->base.pMethods = &kShimMethods;
  return rc;
}

sqlite3_vfs shim_vfs;

class EnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    real_vfs = sqlite3_vfs_find(nullptr);
    ASSERT_NE(real_vfs, nullptr);
    shim_vfs = *real_vfs;
    shim_vfs.zName = "rq_full_disk_shim";
    shim_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + real_vfs->szOsFile;
    shim_vfs.xOpen = ShimOpen;
    ASSERT_EQ(sqlite3_vfs_register(&shim_vfs, /*makeDflt=*/1), SQLITE_OK);
    dir_ = std::filesystem::temp_directory_path() /
           ("env_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Result<std::unique_ptr<Database>> db = Database::Open((dir_ / "db.sqlite").string(), Options{});
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    Run({"CREATE TABLE t (v BLOB)"});
  }
  void TearDown() override {
    disk_full = false;
    db_.reset();
    sqlite3_vfs_unregister(&shim_vfs);
    std::filesystem::remove_all(dir_);
  }

  Response Run(std::vector<std::string> sqls, bool transaction = false) {
    Request r;
    for (std::string& s : sqls) r.statements.push_back(Statement{std::move(s), {}, false});
    r.transaction = transaction;
    return db_->Execute(r);
  }

  int64_t Rows() {
    Request r;
    r.statements.push_back(Statement{"SELECT count(*) FROM t", {}, false});
    Response q = db_->Query(r);
    EXPECT_EQ(q.results.size(), 1u);
    return q.results.empty() || q.results[0].values.empty() ? -1 : std::get<int64_t>(q.results[0].values[0][0]);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(EnvironmentTest, AFullDiskStopsTheWriteAndSaysSo) {
  for (bool transaction : {false, true}) {
    SCOPED_TRACE(transaction ? "?transaction" : "autocommit");
    disk_full = true;
    Response r = Run({"INSERT INTO t VALUES (zeroblob(100000))", "INSERT INTO t VALUES (1)"}, transaction);
    disk_full = false;
    // Where it stops depends on when SQLite writes (at a statement, or only
    // at COMMIT); either way it says so, and nothing of it remains.
    EXPECT_EQ(r.environmental_error, "database or disk is full");
    EXPECT_EQ(Rows(), 0) << "nothing of a write stopped by the environment remains";
  }
  // Once there is room again the same write goes through.
  Response r = Run({"INSERT INTO t VALUES (zeroblob(100000))", "INSERT INTO t VALUES (1)"});
  EXPECT_TRUE(r.environmental_error.empty());
  EXPECT_EQ(Rows(), 2);
}

TEST_F(EnvironmentTest, AStatementThatFailsOnAFullDiskIsMarked) {
  // Too big for the page cache: SQLite writes while the statement runs.
  disk_full = true;
  Response r = Run({"PRAGMA cache_size = 10", "INSERT INTO t VALUES (zeroblob(4000000))", "INSERT INTO t VALUES (1)"});
  disk_full = false;
  EXPECT_EQ(r.environmental_error, "database or disk is full");
  ASSERT_EQ(r.results.size(), 2u) << "the write must stop at the failing statement";
  EXPECT_TRUE(r.results[1].environmental);
  EXPECT_EQ(Rows(), 0);
}

TEST_F(EnvironmentTest, ADumpLoadOnAFullDiskSaysSo) {
  disk_full = true;
  Response r = db_->LoadDump("CREATE TABLE d (x);\nINSERT INTO d VALUES (zeroblob(100000));\n");
  disk_full = false;
  EXPECT_EQ(r.environmental_error, "database or disk is full");
}

// Another process writing to db.sqlite holds the write lock past the busy
// timeout: this replica cannot apply what the others did.
TEST_F(EnvironmentTest, AnotherWritersLockIsTheEnvironment) {
  Options options;
  options.busy_timeout = std::chrono::milliseconds(10);
  db_.reset();
  Result<std::unique_ptr<Database>> db = Database::Open((dir_ / "db.sqlite").string(), options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "db.sqlite").string().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  Response r = Run({"INSERT INTO t VALUES (1)"});
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(r.environmental_error, "database is locked");
  EXPECT_EQ(Rows(), 0);
}

// A lowered max_page_count gives the same SQLITE_FULL on every replica:
// that is the statement's own error, recorded like any other.
TEST_F(EnvironmentTest, ALoweredMaxPageCountIsTheStatementsOwnError) {
  Response r = Run({"PRAGMA max_page_count = 2", "INSERT INTO t VALUES (zeroblob(100000))", "INSERT INTO t VALUES (1)"});
  EXPECT_TRUE(r.environmental_error.empty()) << r.environmental_error;
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[1].error, "database or disk is full");
  EXPECT_FALSE(r.results[1].environmental);
  EXPECT_TRUE(r.results[2].error.empty()) << r.results[2].error;
}

// So is writing under PRAGMA query_only (SQLITE_READONLY without an extended
// code), while a read-only file would be the environment's.
TEST_F(EnvironmentTest, QueryOnlyIsTheStatementsOwnError) {
  Response r = Run({"PRAGMA query_only = 1", "INSERT INTO t VALUES (1)", "PRAGMA query_only = 0"});
  EXPECT_TRUE(r.environmental_error.empty()) << r.environmental_error;
  ASSERT_EQ(r.results.size(), 3u);
  EXPECT_EQ(r.results[1].error, "attempt to write a readonly database");
  EXPECT_FALSE(r.results[1].environmental);
}

}  // namespace
}  // namespace rq::db
