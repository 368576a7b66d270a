// The auto-backup schedule: leader only, skip unchanged, what is hashed,
// timestamps, vacuum, errors in /status, counters, the thread and Stop().
#include "backup/uploader.h"

#include <gtest/gtest.h>
#include <dirent.h>

#include <fstream>
#include <sstream>

#include "backup/codec.h"
#include "backup/test_files.h"
#include "backup/file_storage.h"

namespace rq::backup {
namespace {

using test_files::ReadAll;
using test_files::CountFiles;

// The node's side, scripted.
class FakeSource : public BackupSource {
 public:
  bool IsLeader() override { return leader.load(); }
  Result<uint64_t> LastIndex() override { return index.load(); }
  Status WriteBackup(const std::string& path, bool vacuum) override {
    ++backups;
    last_vacuum = vacuum;
    if (!backup_error.ok()) return backup_error;
    std::lock_guard lock(mu);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return Status::OK();
  }
  void Set(std::string c, uint64_t i) {
    std::lock_guard lock(mu);
    content = std::move(c);
    index = i;
  }

  std::atomic<bool> leader{true};
  std::atomic<uint64_t> index{1};
  std::atomic<int> backups{0};
  std::atomic<bool> last_vacuum{false};
  Status backup_error;
  std::mutex mu;
  std::string content = "database v1";
};

// Wraps a storage to count calls and inject upload failures.
class CountingStorage : public StorageClient {
 public:
  explicit CountingStorage(std::unique_ptr<StorageClient> inner) : inner_(std::move(inner)) {}
  Result<UploadResult> Upload(const std::string& path, const ObjectMetadata& m,
                              std::chrono::system_clock::time_point now) override {
    ++uploads;
    if (!fail_upload.ok()) return fail_upload;
    return inner_->Upload(path, m, now);
  }
  Status Download(const std::string& path, Deadline d) override { return inner_->Download(path, d); }
  Result<ObjectMetadata> CurrentMetadata() override {
    ++metadata_reads;
    return inner_->CurrentMetadata();
  }
  std::string Describe() const override { return inner_->Describe(); }

  std::atomic<int> uploads{0};
  std::atomic<int> metadata_reads{0};
  Status fail_upload;

 private:
  std::unique_ptr<StorageClient> inner_;
};

struct Deltas {
  UploaderMetrics& m = UploaderCounters();
  int64_t ok = m.num_uploads_ok.value(), fail = m.num_uploads_fail.value(), skipped = m.num_uploads_skipped.value(),
          skipped_id = m.num_uploads_skipped_id.value(), total = m.total_upload_bytes.value();
  int64_t Ok() const { return m.num_uploads_ok.value() - ok; }
  int64_t Fail() const { return m.num_uploads_fail.value() - fail; }
  int64_t Skipped() const { return m.num_uploads_skipped.value() - skipped; }
  int64_t SkippedId() const { return m.num_uploads_skipped_id.value() - skipped_id; }
  int64_t Total() const { return m.total_upload_bytes.value() - total; }
};

class UploaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/up-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf " + root_ + " && mkdir -p " + root_ + "/tmp").c_str()), 0);
  }

  // An uploader over FileStorage in root_/out; *counting is its storage.
  std::unique_ptr<Uploader> Make(CountingStorage** counting, bool compress = true, bool timestamp = false,
                                 bool vacuum = false) {
    auto file = FileStorage::Open({root_ + "/out", "db.sqlite.gz"}, timestamp);
    EXPECT_TRUE(file.ok());
    auto storage = std::make_unique<CountingStorage>(std::move(*file));
    *counting = storage.get();
    UploaderOptions options;
    options.interval = std::chrono::hours(1);
    options.compress = compress;
    options.vacuum = vacuum;
    options.temp_dir = root_ + "/tmp";
    options.now = [this] { return now_; };
    return std::make_unique<Uploader>(std::move(storage), source_, options);
  }

  std::string root_;
  FakeSource source_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::from_time_t(1714558830);
};

TEST_F(UploaderTest, OnlyTheLeaderUploads) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  source_.leader = false;
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kNotLeader);
  EXPECT_EQ(source_.backups.load(), 0);
  EXPECT_EQ(storage->uploads.load(), 0);
  source_.leader = true;
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(storage->uploads.load(), 1);
}

TEST_F(UploaderTest, UnchangedIndexIsSkippedWithoutMakingABackup) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  Deltas d;
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kSkippedUnchanged);
  EXPECT_EQ(source_.backups.load(), 1);
  EXPECT_EQ(storage->uploads.load(), 1);
  EXPECT_EQ(d.Ok(), 1);
  EXPECT_EQ(d.Skipped(), 1);
}

TEST_F(UploaderTest, SameBytesAtANewIndexAreNotUploadedAgain) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  source_.index = 2;  // e.g. a no-op write: new index, same data
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kSkippedUnchanged);
  EXPECT_EQ(storage->uploads.load(), 1);
  source_.Set("database v2", 3);
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(storage->uploads.load(), 2);
}

TEST_F(UploaderTest, NewLeaderReadsTheStoredSumAndSkipsIdenticalData) {
  CountingStorage* first_storage;
  auto first = Make(&first_storage);
  ASSERT_EQ(first->RunOnce(), RoundOutcome::kUploaded);
  first.reset();
  // Another node (or this one restarted) with the same data leads now.
  CountingStorage* storage;
  auto next = Make(&storage);
  Deltas d;
  EXPECT_EQ(next->RunOnce(), RoundOutcome::kSkippedStored);
  EXPECT_EQ(storage->metadata_reads.load(), 1);
  EXPECT_EQ(storage->uploads.load(), 0);
  EXPECT_EQ(d.SkippedId(), 1);
  // Losing and regaining leadership consults the storage again.
  source_.leader = false;
  EXPECT_EQ(next->RunOnce(), RoundOutcome::kNotLeader);
  source_.leader = true;
  source_.Set("database v2", 5);
  EXPECT_EQ(next->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(storage->metadata_reads.load(), 2);
}

TEST_F(UploaderTest, CompressedUploadIsGzipAndTheSumCoversTheGzipBytes) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  std::string stored = root_ + "/out/db.sqlite.gz";
  EXPECT_TRUE(*IsGzipFile(stored));
  ASSERT_TRUE(GunzipFile(stored, root_ + "/plain").ok());
  EXPECT_EQ(ReadAll(root_ + "/plain"), "database v1");
  std::string sum = HexEncode(*Sha256File(stored));
  EXPECT_EQ(uploader->GetStatus().last_sum_uploaded, sum);
  EXPECT_EQ(storage->CurrentMetadata()->sha256_hex, sum);
  EXPECT_EQ(storage->CurrentMetadata()->id, "1");
}

TEST_F(UploaderTest, NoCompressUploadsTheBackupAsIs) {
  CountingStorage* storage;
  auto uploader = Make(&storage, /*compress=*/false);
  Deltas d;
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(ReadAll(root_ + "/out/db.sqlite.gz"), "database v1");
  EXPECT_EQ(uploader->GetStatus().last_sum_uploaded, HexEncode(Sha256("database v1")));
  EXPECT_EQ(d.Total(), 11);
  EXPECT_EQ(UploaderCounters().last_upload_bytes.value(), 11);
}

TEST_F(UploaderTest, TimestampNamesEachObjectByTheClock) {
  CountingStorage* storage;
  auto uploader = Make(&storage, true, /*timestamp=*/true);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  now_ += std::chrono::seconds(61);
  source_.Set("database v2", 2);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_EQ(ReadAll(root_ + "/out/20240501102030_db.sqlite.gz").empty(), false);
  EXPECT_EQ(uploader->GetStatus().last_object_name, root_ + "/out/20240501102131_db.sqlite.gz");
}

TEST_F(UploaderTest, VacuumFlagIsPassedToTheSource) {
  CountingStorage* storage;
  auto uploader = Make(&storage, true, false, /*vacuum=*/true);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_TRUE(source_.last_vacuum.load());
  auto plain = Make(&storage, true, false, /*vacuum=*/false);
  source_.Set("v2", 9);
  ASSERT_EQ(plain->RunOnce(), RoundOutcome::kUploaded);
  EXPECT_FALSE(source_.last_vacuum.load());
}

TEST_F(UploaderTest, UploadErrorIsRecordedCountedAndClearedBySuccess) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  storage->fail_upload = Status::IOError("S3 PUT failed: HTTP 403 AccessDenied");
  Deltas d;
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kFailed);
  EXPECT_EQ(d.Fail(), 1);
  UploaderStatus s = uploader->GetStatus();
  EXPECT_NE(s.last_error.find("AccessDenied"), std::string::npos);
  EXPECT_TRUE(s.last_error_time.has_value());
  EXPECT_FALSE(s.last_upload_time.has_value());
  storage->fail_upload = Status::OK();
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);  // a failure does not count as uploaded
  EXPECT_EQ(uploader->GetStatus().last_error, "");
}

TEST_F(UploaderTest, BackupErrorIsRecorded) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  source_.backup_error = Status::IOError("disk full");
  EXPECT_EQ(uploader->RunOnce(), RoundOutcome::kFailed);
  EXPECT_NE(uploader->GetStatus().last_error.find("making the backup: disk full"), std::string::npos);
  EXPECT_EQ(storage->uploads.load(), 0);
}

TEST_F(UploaderTest, TemporaryFilesAreRemoved) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  source_.backup_error = Status::IOError("boom");
  source_.index = 2;
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kFailed);
  EXPECT_EQ(CountFiles(root_ + "/tmp"), 0);
}

TEST_F(UploaderTest, StatusJsonUsesRqliteKeys) {
  CountingStorage* storage;
  auto uploader = Make(&storage);
  boost::json::object before = uploader->StatusJson();
  EXPECT_EQ(before["last_upload_time"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(before["upload_interval"], "1h0m0s");
  ASSERT_EQ(uploader->RunOnce(), RoundOutcome::kUploaded);
  boost::json::object s = uploader->StatusJson();
  EXPECT_EQ(s["upload_destination"], boost::json::value("dir:" + root_ + "/out, file:db.sqlite.gz"));
  EXPECT_EQ(s["compress"], true);
  EXPECT_EQ(s["last_upload_time"], "2024-05-01T10:20:30Z");
  EXPECT_EQ(s["last_index"], "1");
  EXPECT_EQ(s["last_sum_uploaded"], boost::json::value(uploader->GetStatus().last_sum_uploaded));
  EXPECT_TRUE(s.contains("last_upload_duration"));
  EXPECT_TRUE(s.contains("last_upload_bytes"));
  EXPECT_EQ(s["last_error"], "");
}

TEST_F(UploaderTest, ThreadUploadsEveryIntervalAndStopIsPrompt) {
  auto file = FileStorage::Open({root_ + "/out", "db"}, false);
  auto counting = std::make_unique<CountingStorage>(std::move(*file));
  CountingStorage* storage = counting.get();
  UploaderOptions options;
  options.interval = std::chrono::milliseconds(20);
  options.temp_dir = root_ + "/tmp";
  Uploader uploader(std::move(counting), source_, options);
  uploader.Start();
  for (int i = 2; i < 200 && storage->uploads.load() < 3; ++i) {
    source_.Set("database v" + std::to_string(i), static_cast<uint64_t>(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(storage->uploads.load(), 3);
  auto started = std::chrono::steady_clock::now();
  uploader.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
}

TEST_F(UploaderTest, StopDuringALongIntervalReturnsAtOnce) {
  CountingStorage* storage;
  auto uploader = Make(&storage);  // interval: one hour
  uploader->Start();
  auto started = std::chrono::steady_clock::now();
  uploader->Stop();
  uploader->Stop();  // idempotent
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  EXPECT_EQ(storage->uploads.load(), 0);
}

TEST(UploaderOptionsTest, FromConfig) {
  BackupConfig config;
  config.interval = std::chrono::seconds(90);
  config.no_compress = true;
  config.vacuum = true;
  UploaderOptions options = UploaderOptions::FromConfig(config);
  EXPECT_EQ(options.interval, std::chrono::seconds(90));
  EXPECT_FALSE(options.compress);
  EXPECT_TRUE(options.vacuum);
}

}  // namespace
}  // namespace rq::backup
