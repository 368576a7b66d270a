// The "file" storage and the byte helpers under it (sha256, gzip).
#include "backup/file_storage.h"

#include <gtest/gtest.h>
#include <dirent.h>

#include <fstream>
#include <set>
#include <sstream>

#include "backup/codec.h"
#include "backup/test_files.h"

namespace rq::backup {
namespace {

using test_files::ReadAll;

std::set<std::string> List(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  return names;
}

class FileStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/fs-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf " + root_ + " && mkdir -p " + root_).c_str()), 0);
    std::ofstream(root_ + "/src", std::ios::binary) << "backup bytes";
  }
  std::string root_;
  Deadline soon_ = std::chrono::steady_clock::now() + std::chrono::seconds(10);
};

TEST_F(FileStorageTest, CreatesTheDirectory) {
  auto storage = FileStorage::Open({root_ + "/a/b/c", "db.sqlite"}, false);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  EXPECT_TRUE(List(root_ + "/a/b/c").empty());  // the write probe is gone
  EXPECT_EQ((*storage)->Describe(), "dir:" + root_ + "/a/b/c, file:db.sqlite");
}

TEST_F(FileStorageTest, UploadWritesFileAndMetadataAndNothingElse) {
  auto storage = FileStorage::Open({root_ + "/out", "db.sqlite"}, false);
  auto now = std::chrono::system_clock::from_time_t(1714558830);
  Result<UploadResult> up = (*storage)->Upload(root_ + "/src", {"feed", "12"}, now);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->object_name, root_ + "/out/db.sqlite");
  EXPECT_EQ(up->bytes, 12u);
  EXPECT_EQ(ReadAll(root_ + "/out/db.sqlite"), "backup bytes");
  EXPECT_EQ(List(root_ + "/out"), (std::set<std::string>{"METADATA.json", "db.sqlite"}));
  EXPECT_EQ(ReadAll(root_ + "/out/METADATA.json"),
            R"({"id":"12","sha256":"feed","timestamp":1714558830000,"name":")" + root_ + "/out/db.sqlite\"}");
  Result<ObjectMetadata> meta = (*storage)->CurrentMetadata();
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->sha256_hex, "feed");
  EXPECT_EQ(meta->id, "12");
}

TEST_F(FileStorageTest, NoMetadataBeforeTheFirstUpload) {
  auto storage = FileStorage::Open({root_ + "/out", "db.sqlite"}, false);
  EXPECT_TRUE((*storage)->CurrentMetadata().status().IsNotFound());
  EXPECT_TRUE((*storage)->Download(root_ + "/x", soon_).IsNotFound());
}

TEST_F(FileStorageTest, TimestampedUploadsAccumulateAndDownloadTakesTheLatest) {
  auto storage = FileStorage::Open({root_ + "/out", "db.sqlite"}, true);
  ASSERT_TRUE((*storage)->Upload(root_ + "/src", {"1", "1"}, std::chrono::system_clock::from_time_t(1714558830)).ok());
  std::ofstream(root_ + "/src", std::ios::binary) << "newer";
  ASSERT_TRUE((*storage)->Upload(root_ + "/src", {"2", "2"}, std::chrono::system_clock::from_time_t(1714558890)).ok());
  EXPECT_EQ(List(root_ + "/out"), (std::set<std::string>{"20240501102030_db.sqlite", "20240501102130_db.sqlite",
                                                         "METADATA.json"}));
  ASSERT_TRUE((*storage)->Download(root_ + "/back", soon_).ok());
  EXPECT_EQ(ReadAll(root_ + "/back"), "newer");
}

TEST_F(FileStorageTest, UnwritableDirectoryIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can write anywhere";
  ASSERT_EQ(std::system(("mkdir -p " + root_ + "/ro && chmod 555 " + root_ + "/ro").c_str()), 0);
  EXPECT_FALSE(FileStorage::Open({root_ + "/ro", "db"}, false).ok());
}

TEST(TimestampedNameTest, PrefixesTheLastSegmentInUtc) {
  auto t = std::chrono::system_clock::from_time_t(1714558830);
  EXPECT_EQ(TimestampedName("db.gz", t), "20240501102030_db.gz");
  EXPECT_EQ(TimestampedName("a/b/db.gz", t), "a/b/20240501102030_db.gz");
}

TEST(CodecTest, Sha256KnownVectors) {
  EXPECT_EQ(HexEncode(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string path = ::testing::TempDir() + "/sha-abc";
  std::ofstream(path) << "xxabcyy";
  EXPECT_EQ(HexEncode(*Sha256File(path, 2, 3)), HexEncode(Sha256("abc")));
  EXPECT_EQ(HexEncode(*Sha256File(path)), HexEncode(Sha256("xxabcyy")));
}

TEST(CodecTest, GzipRoundTripIsDeterministic) {
  std::string dir = ::testing::TempDir();
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i * 31 % 977);
  std::ofstream(dir + "/codec-plain", std::ios::binary) << data;
  ASSERT_TRUE(GzipFile(dir + "/codec-plain", dir + "/codec-one.gz").ok());
  ASSERT_TRUE(GzipFile(dir + "/codec-plain", dir + "/codec-two.gz").ok());
  EXPECT_EQ(ReadAll(dir + "/codec-one.gz"), ReadAll(dir + "/codec-two.gz"));  // equal input, equal bytes, equal sum
  EXPECT_TRUE(*IsGzipFile(dir + "/codec-one.gz"));
  EXPECT_FALSE(*IsGzipFile(dir + "/codec-plain"));
  ASSERT_TRUE(GunzipFile(dir + "/codec-one.gz", dir + "/codec-back").ok());
  EXPECT_EQ(ReadAll(dir + "/codec-back"), data);
}

TEST(CodecTest, TruncatedOrGarbledGzipIsCorruption) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/codec-p", std::ios::binary) << std::string(50000, 'q') << "tail";
  ASSERT_TRUE(GzipFile(dir + "/codec-p", dir + "/codec-p.gz").ok());
  std::string gz = ReadAll(dir + "/codec-p.gz");
  std::ofstream(dir + "/codec-cut.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
  EXPECT_TRUE(GunzipFile(dir + "/codec-cut.gz", dir + "/codec-o").IsCorruption());
  std::string garbled = gz;
  for (size_t i = 12; i < garbled.size() - 8; ++i) garbled[i] = static_cast<char>(garbled[i] ^ 0x5a);
  std::ofstream(dir + "/codec-bad.gz", std::ios::binary) << garbled;
  EXPECT_TRUE(GunzipFile(dir + "/codec-bad.gz", dir + "/codec-o").IsCorruption());
}

TEST(CodecTest, ConcatenatedGzipMembersReadAsOne) {
  std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/codec-m1", std::ios::binary) << "first,";
  std::ofstream(dir + "/codec-m2", std::ios::binary) << "second";
  Status first = GzipFile(dir + "/codec-m1", dir + "/m1.gz");
  ASSERT_TRUE(first.ok()) << first.ToString();
  ASSERT_TRUE(GzipFile(dir + "/codec-m2", dir + "/m2.gz").ok());
  std::ofstream(dir + "/codec-both.gz", std::ios::binary) << ReadAll(dir + "/m1.gz") << ReadAll(dir + "/m2.gz");
  ASSERT_TRUE(GunzipFile(dir + "/codec-both.gz", dir + "/codec-both").ok());
  EXPECT_EQ(ReadAll(dir + "/codec-both"), "first,second");
}

}  // namespace
}  // namespace rq::backup
