#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "env/clock.h"
#include "env/mem_file_system.h"
#include "env/posix_file_system.h"

namespace rq::env {
namespace {

void WriteAll(FileSystem* fs, const std::string& path, std::string_view data, bool sync) {
  auto file = fs->NewWritableFile(path, OpenMode::kAppend);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append(data).ok());
  if (sync) {
    ASSERT_TRUE((*file)->Sync().ok());
  }
  ASSERT_TRUE((*file)->Close().ok());
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/rq_env_test_XXXXXX";
  char* dir = ::mkdtemp(tmpl);
  RQ_ASSERT(dir != nullptr);
  return dir;
}

void CheckBasicFileOperations(FileSystem* fs, const std::string& dir) {
  const std::string path = JoinPath(dir, "a");
  WriteAll(fs, path, "hello ", true);
  WriteAll(fs, path, "world", true);
  EXPECT_EQ(*fs->ReadFile(path), "hello world");
  EXPECT_EQ(*fs->FileSize(path), 11u);

  auto reader = fs->NewRandomAccessFile(path);
  ASSERT_TRUE(reader.ok());
  std::string out;
  ASSERT_TRUE((*reader)->Read(6, 100, &out).ok());
  EXPECT_EQ(out, "world");  // short read at end of file
  ASSERT_TRUE((*reader)->Read(50, 4, &out).ok());
  EXPECT_EQ(out, "");

  ASSERT_TRUE(fs->Truncate(path, 5).ok());
  EXPECT_EQ(*fs->ReadFile(path), "hello");
  ASSERT_TRUE(fs->RenameFile(path, JoinPath(dir, "b")).ok());
  EXPECT_FALSE(fs->FileExists(path));
  EXPECT_TRUE(fs->FileExists(JoinPath(dir, "b")));
  ASSERT_TRUE(fs->WriteFileAtomic(JoinPath(dir, "c"), "atomic").ok());
  EXPECT_EQ(*fs->ReadFile(JoinPath(dir, "c")), "atomic");
  ASSERT_TRUE(fs->CreateDir(JoinPath(dir, "sub")).ok());
  ASSERT_TRUE(fs->CreateDir(JoinPath(dir, "sub")).ok());  // exists: still OK

  auto names = fs->ListDir(dir);
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"b", "c", "sub"}));
  ASSERT_TRUE(fs->DeleteFile(JoinPath(dir, "b")).ok());
  EXPECT_TRUE(fs->DeleteFile(JoinPath(dir, "b")).IsNotFound());
  EXPECT_TRUE(fs->ReadFile(JoinPath(dir, "missing")).status().IsNotFound());
  ASSERT_TRUE(fs->SyncDir(dir).ok());
}

TEST(PosixFileSystemTest, BasicFileOperations) {
  const std::string dir = MakeTempDir();
  PosixFileSystem fs;
  CheckBasicFileOperations(&fs, dir);
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(PosixFileSystemTest, ErrorsNameThePathAndErrno) {
  PosixFileSystem fs;
  auto file = fs.NewWritableFile("/nonexistent_dir_rq/x", OpenMode::kAppend);
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("/nonexistent_dir_rq/x"), std::string::npos);
  EXPECT_NE(file.status().message().find("No such file"), std::string::npos);
}

// Writes at an offset overwrite in place; the size changes only past the end.
void CheckPositionedWrites(FileSystem* fs, const std::string& dir) {
  const std::string path = JoinPath(dir, "pre");
  WriteAll(fs, path, std::string(8, '\0'), true);
  auto file = fs->NewWritableFileAt(path, 2);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Append("ab").ok());
  EXPECT_EQ((*file)->Size(), 4u);
  ASSERT_TRUE((*file)->Sync().ok());
  EXPECT_EQ(*fs->ReadFile(path), std::string("\0\0ab\0\0\0\0", 8));
  ASSERT_TRUE((*file)->Append("cdefgh").ok());  // 4 bytes in place, 2 past the end
  ASSERT_TRUE((*file)->Close().ok());
  EXPECT_EQ(*fs->ReadFile(path), std::string("\0\0abcdefgh", 10));
  EXPECT_EQ(*fs->FileSize(path), 10u);
  EXPECT_TRUE(fs->NewWritableFileAt(JoinPath(dir, "missing"), 0).status().IsNotFound());
}

TEST(PosixFileSystemTest, PositionedWritesOverwriteInPlace) {
  const std::string dir = MakeTempDir();
  PosixFileSystem fs;
  CheckPositionedWrites(&fs, dir);
  std::string cmd = "rm -rf " + dir;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(MemFileSystemTest, PositionedWritesOverwriteInPlace) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  CheckPositionedWrites(&fs, "/d");
}

TEST(MemFileSystemTest, TornInPlaceWriteKeepsAPrefixOfTheChangeOverOldBytes) {
  Random random(5);
  bool saw_partial = false;
  const std::string old_bytes(12, '\0');
  const std::string written = std::string(2, '\0') + "01234567" + std::string(2, '\0');
  for (int i = 0; i < 50; ++i) {
    MemFileSystem fs;
    fs.SetTearSource(&random);
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    WriteAll(&fs, "/d/f", old_bytes, true);
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    auto file = fs.NewWritableFileAt("/d/f", 2);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("01234567").ok());
    fs.Crash();
    std::string data = *fs.ReadFile("/d/f");
    ASSERT_EQ(data.size(), 12u);
    size_t kept = 2;
    while (kept < 10 && data[kept] == written[kept]) ++kept;
    EXPECT_EQ(data.substr(kept), old_bytes.substr(kept)) << "not a prefix tear";
    if (kept > 2 && kept < 10) saw_partial = true;
  }
  EXPECT_TRUE(saw_partial);
}

TEST(MemFileSystemTest, BasicFileOperations) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  CheckBasicFileOperations(&fs, "/d");
}

TEST(MemFileSystemTest, CrashDropsUnsyncedBytes) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  WriteAll(&fs, "/d/f", "durable", true);
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  WriteAll(&fs, "/d/f", "-lost", false);
  EXPECT_EQ(*fs.ReadFile("/d/f"), "durable-lost");
  fs.Crash();
  EXPECT_EQ(*fs.ReadFile("/d/f"), "durable");
}

TEST(MemFileSystemTest, CrashForgetsFileWhoseDirectoryWasNotSynced) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  WriteAll(&fs, "/d/f", "synced data, unsynced name", true);
  fs.Crash();
  EXPECT_FALSE(fs.FileExists("/d/f"));
}

TEST(MemFileSystemTest, CrashRevertsUnsyncedRenameAndDelete) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  WriteAll(&fs, "/d/a", "A", true);
  WriteAll(&fs, "/d/b", "B", true);
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(fs.RenameFile("/d/a", "/d/c").ok());
  ASSERT_TRUE(fs.DeleteFile("/d/b").ok());
  fs.Crash();
  EXPECT_EQ(*fs.ReadFile("/d/a"), "A");
  EXPECT_EQ(*fs.ReadFile("/d/b"), "B");
  EXPECT_FALSE(fs.FileExists("/d/c"));
}

TEST(MemFileSystemTest, WriteFileAtomicSurvivesCrash) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  ASSERT_TRUE(fs.WriteFileAtomic("/d/state", "v1").ok());
  ASSERT_TRUE(fs.WriteFileAtomic("/d/state", "v2").ok());
  fs.Crash();
  EXPECT_EQ(*fs.ReadFile("/d/state"), "v2");
}

TEST(MemFileSystemTest, WriteFileAtomicCrashAtAnyStepKeepsOldOrNew) {
  for (int64_t ops = 0; ops < 8; ++ops) {
    MemFileSystem fs;
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    ASSERT_TRUE(fs.WriteFileAtomic("/d/state", "old").ok());
    fs.CrashAfterOps(ops);
    Status s = fs.WriteFileAtomic("/d/state", "new");
    fs.Crash();
    std::string content = *fs.ReadFile("/d/state");
    if (s.ok()) {
      EXPECT_EQ(content, "new");
    }
    EXPECT_TRUE(content == "old" || content == "new") << content;
  }
}

TEST(MemFileSystemTest, TornWriteKeepsAPrefixOfUnsyncedBytes) {
  Random random(7);
  bool saw_partial = false;
  for (int i = 0; i < 50; ++i) {
    MemFileSystem fs;
    fs.SetTearSource(&random);
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    WriteAll(&fs, "/d/f", "base", true);
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    WriteAll(&fs, "/d/f", "0123456789", false);
    fs.Crash();
    std::string data = *fs.ReadFile("/d/f");
    ASSERT_GE(data.size(), 4u);
    EXPECT_EQ(data, std::string("base0123456789").substr(0, data.size()));
    if (data.size() > 4 && data.size() < 14) saw_partial = true;
  }
  EXPECT_TRUE(saw_partial);
}

TEST(MemFileSystemTest, ZeroFillTearEndsInZerosWhereBytesWereLost) {
  Random random(11);
  bool saw_zeros = false;
  for (int i = 0; i < 50; ++i) {
    MemFileSystem fs;
    fs.SetTearSource(&random, /*zero_fill=*/true);
    ASSERT_TRUE(fs.CreateDir("/d").ok());
    WriteAll(&fs, "/d/f", "base", true);
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    WriteAll(&fs, "/d/f", "0123456789", false);
    fs.Crash();
    std::string data = *fs.ReadFile("/d/f");
    ASSERT_GE(data.size(), 4u);
    ASSERT_LE(data.size(), 14u);
    size_t real = data.find('\0');
    if (real == std::string::npos) real = data.size();
    EXPECT_EQ(data.substr(0, real), std::string("base0123456789").substr(0, real));
    EXPECT_EQ(data.substr(real), std::string(data.size() - real, '\0'));
    if (real < data.size()) saw_zeros = true;
  }
  EXPECT_TRUE(saw_zeros);
}

TEST(MemFileSystemTest, FailNextWritesReturnsNoSpaceAndWritesNothing) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto file = fs.NewWritableFile("/d/f", OpenMode::kAppend);
  ASSERT_TRUE(file.ok());
  fs.FailNextWrites(2);
  EXPECT_TRUE((*file)->Append("x").IsIOError());
  Status s = (*file)->Append("y");
  EXPECT_NE(s.message().find("No space left"), std::string::npos);
  EXPECT_TRUE((*file)->Append("z").ok());
  EXPECT_EQ(*fs.ReadFile("/d/f"), "z");
  fs.FailNextSyncs(1);
  EXPECT_TRUE((*file)->Sync().IsIOError());
  EXPECT_TRUE((*file)->Sync().ok());
}

TEST(MemFileSystemTest, OperationsFailAfterInjectedCrashPoint) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto file = fs.NewWritableFile("/d/f", OpenMode::kAppend);
  ASSERT_TRUE(file.ok());
  fs.CrashAfterOps(1);
  EXPECT_TRUE((*file)->Append("a").ok());
  EXPECT_TRUE((*file)->Append("b").IsIOError());
  EXPECT_TRUE((*file)->Sync().IsIOError());
  fs.Crash();
  EXPECT_TRUE((*file)->Append("c").IsIOError());  // handle from before the crash
}

TEST(MemFileSystemTest, TruncateIsDurable) {
  MemFileSystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  WriteAll(&fs, "/d/f", "abcdef", true);
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  ASSERT_TRUE(fs.Truncate("/d/f", 2).ok());
  fs.Crash();
  EXPECT_EQ(*fs.ReadFile("/d/f"), "ab");
}

TEST(ManualClockTest, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  auto start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(std::chrono::milliseconds(250));
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(250));
  auto wall = std::chrono::system_clock::time_point(std::chrono::hours(1));
  clock.SetWall(wall);
  EXPECT_EQ(clock.WallNow(), wall);
}

TEST(RealClockTest, MonotonicClockDoesNotGoBack) {
  Clock* clock = DefaultClock();
  auto a = clock->Now();
  auto b = clock->Now();
  EXPECT_LE(a, b);
  EXPECT_GT(clock->WallNow().time_since_epoch().count(), 0);
}

}  // namespace
}  // namespace rq::env
