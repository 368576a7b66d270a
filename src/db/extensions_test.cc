// -extensions-path: finding the libraries (files, directories, zip and
// tar.gz archives written here with libarchive) and loading them into every
// connection (rq_twice, from test_extension.c).
#include "db/extensions.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "db/database.h"

namespace rq::db {
namespace {

namespace fs = std::filesystem;

class ExtensionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ext_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // An archive (zip or tar.gz) holding `files` (name in archive -> source file).
  void WriteArchive(const std::string& path, bool zip, const std::vector<std::pair<std::string, std::string>>& files) {
    struct archive* out = archive_write_new();
    if (zip) {
      archive_write_set_format_zip(out);
    } else {
      archive_write_set_format_pax_restricted(out);
      archive_write_add_filter_gzip(out);
    }
    ASSERT_EQ(archive_write_open_filename(out, path.c_str()), ARCHIVE_OK);
    for (const auto& [name, source] : files) {
      std::ifstream in(source, std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      struct archive_entry* entry = archive_entry_new();
      archive_entry_set_pathname(entry, name.c_str());
      archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, 0644);
      archive_write_header(out, entry);
      archive_write_data(out, data.data(), data.size());
      archive_entry_free(entry);
    }
    archive_write_close(out);
    archive_write_free(out);
  }

  int64_t Twice(Database& db, int64_t x) {
    command::Request request;
    request.statements.push_back(command::Statement{"SELECT rq_twice(" + std::to_string(x) + ")", {}, false});
    command::Response response = db.Query(request);
    EXPECT_TRUE(response.error.empty()) << response.error;
    if (response.results.empty() || response.results[0].values.empty()) return -1;
    EXPECT_TRUE(response.results[0].error.empty()) << response.results[0].error;
    return std::get<int64_t>(response.results[0].values[0][0]);
  }

  fs::path dir_;
};

TEST_F(ExtensionsTest, EveryConnectionLoadsTheExtension) {
  Options options;
  options.extensions = {RQ_TEST_EXTENSION};
  auto db = Database::Open(Path("db.sqlite"), options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Twice(**db, 21), 42);  // a reader
  command::Request write;
  write.statements.push_back(command::Statement{"CREATE TABLE t (x INTEGER)", {}, false});
  write.statements.push_back(command::Statement{"INSERT INTO t VALUES (rq_twice(5))", {}, false});
  command::Response written = (*db)->Execute(write);  // the writer
  ASSERT_TRUE(written.error.empty()) << written.error;
  ASSERT_TRUE(written.results[1].error.empty()) << written.results[1].error;
  command::Request read;
  read.statements.push_back(command::Statement{"SELECT x FROM t", {}, false});
  EXPECT_EQ(std::get<int64_t>((*db)->Query(read).results[0].values[0][0]), 10);
  // SQL cannot load libraries of its own.
  command::Request load;
  load.statements.push_back(command::Statement{"SELECT load_extension('" + std::string(RQ_TEST_EXTENSION) + "')",
                                               {}, false});
  command::Response refused = (*db)->Query(load);
  EXPECT_TRUE(!refused.error.empty() || !refused.results[0].error.empty());
}

TEST_F(ExtensionsTest, WithoutTheExtensionTheFunctionIsUnknown) {
  auto db = Database::Open(Path("db.sqlite"), Options{});
  ASSERT_TRUE(db.ok());
  command::Request request;
  request.statements.push_back(command::Statement{"SELECT rq_twice(1)", {}, false});
  command::Response response = (*db)->Query(request);
  ASSERT_EQ(response.results.size(), 1u);
  EXPECT_NE(response.results[0].error.find("no such function"), std::string::npos);
}

TEST_F(ExtensionsTest, AFileThatIsNoLibraryIsAClearError) {
  std::ofstream(Path("bogus.so")) << "not a shared library";
  Options options;
  options.extensions = {Path("bogus.so")};
  auto db = Database::Open(Path("db.sqlite"), options);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("bogus.so"), std::string::npos) << db.status().ToString();
}

TEST_F(ExtensionsTest, FilesDirectoriesAndArchivesResolveToLibraries) {
  fs::create_directories(dir_ / "dir");
  fs::copy_file(RQ_TEST_EXTENSION, dir_ / "dir" / "b.so");
  fs::copy_file(RQ_TEST_EXTENSION, dir_ / "dir" / "a.so");
  WriteArchive(Path("ext.zip"), true, {{"nested/path/z.so", RQ_TEST_EXTENSION}});
  WriteArchive(Path("ext.tar.gz"), false, {{"../../escape.so", RQ_TEST_EXTENSION}});
  auto found = ResolveExtensions({RQ_TEST_EXTENSION, Path("dir"), Path("ext.zip"), Path("ext.tar.gz")},
                                 Path("unpacked"));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 5u);
  EXPECT_EQ((*found)[0], RQ_TEST_EXTENSION);
  EXPECT_EQ((*found)[1], Path("dir/a.so"));
  EXPECT_EQ((*found)[2], Path("dir/b.so"));
  EXPECT_EQ((*found)[3], Path("unpacked/ext.zip/z.so"));
  EXPECT_EQ((*found)[4], Path("unpacked/ext.tar.gz/escape.so"));  // flattened: nothing lands outside
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escape.so"));
  // What was unpacked loads.
  Options options;
  options.extensions = {(*found)[3]};
  auto db = Database::Open(Path("db.sqlite"), options);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(Twice(**db, 4), 8);
}

TEST_F(ExtensionsTest, MissingPathsAndBadArchivesAreErrorsNamingThem) {
  auto missing = ResolveExtensions({Path("nope.so")}, Path("unpacked"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.so"), std::string::npos);
  std::ofstream(Path("broken.zip")) << "PK\x03\x04 this is not a zip";
  auto broken = ResolveExtensions({Path("broken.zip")}, Path("unpacked"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("broken.zip"), std::string::npos);
}

}  // namespace
}  // namespace rq::db
