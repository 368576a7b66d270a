// The auto-backup schedule (see uploader.h).
#include "backup/uploader.h"

#include <cstdlib>
#include <ctime>

#include "backup/codec.h"
#include "base/go_format.h"
#include "base/logging.h"
#include "base/thread_name.h"

namespace rq::backup {
namespace json = boost::json;
namespace {

std::string DefaultTempDir() {
  const char* dir = std::getenv("TMPDIR");
  return (dir != nullptr && *dir != '\0') ? std::string(dir) : std::string("/tmp");
}

// Go's time.RFC3339 in UTC: "2024-05-01T10:20:30Z".
std::string Rfc3339(std::optional<std::chrono::system_clock::time_point> time) {
  if (!time) return kGoZeroTime;
  std::time_t seconds = std::chrono::system_clock::to_time_t(*time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

struct RemoveFiles {
  std::vector<std::string>* files;
  ~RemoveFiles() {
    for (const std::string& f : *files) RemoveQuietly(f);
  }
};

}  // namespace

UploaderMetrics& UploaderCounters() {
  static UploaderMetrics* metrics = new UploaderMetrics();
  return *metrics;
}

DownloaderMetrics& DownloaderCounters() {
  static DownloaderMetrics* metrics = new DownloaderMetrics();
  return *metrics;
}

UploaderOptions UploaderOptions::FromConfig(const BackupConfig& config) {
  UploaderOptions options;
  options.interval = config.interval;
  options.compress = !config.no_compress;
  options.vacuum = config.vacuum;
  return options;
}

Uploader::Uploader(std::unique_ptr<StorageClient> storage, BackupSource& source, UploaderOptions options)
    : storage_(std::move(storage)),
      source_(source),
      options_(std::move(options)),
      metrics_(options_.metrics != nullptr ? *options_.metrics : UploaderCounters()) {
  RQ_ASSERT(storage_ != nullptr);
  RQ_ASSERT(options_.interval.count() > 0);
  if (options_.temp_dir.empty()) options_.temp_dir = DefaultTempDir();
  status_.destination = storage_->Describe();
  status_.interval = options_.interval;
  status_.compress = options_.compress;
  status_.vacuum = options_.vacuum;
}

Uploader::~Uploader() { Stop(); }

void Uploader::Start() {
  RQ_ASSERT(!thread_.joinable());
  RQ_LOG_INFO("auto-backup: uploading to {} every {}", storage_->Describe(), FormatGoDuration(options_.interval));
  thread_ = std::thread([this] { Loop(); });
}

void Uploader::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (options_.cancel != nullptr) options_.cancel->store(true);
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    RQ_LOG_INFO("auto-backup: upload service stopped");
  }
}

void Uploader::Loop() {
  NameThisThread("rq-autobackup");
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
    lock.unlock();
    RunOnce();
    lock.lock();
  }
}

std::chrono::system_clock::time_point Uploader::Now() const {
  return options_.now ? options_.now() : std::chrono::system_clock::now();
}

RoundOutcome Uploader::RunOnce() {
  std::lock_guard round(round_mutex_);
  RoundOutcome outcome = Round();
  if (outcome != RoundOutcome::kFailed && outcome != RoundOutcome::kNotLeader) {
    std::lock_guard lock(mutex_);
    status_.last_error.clear();
  }
  return outcome;
}

RoundOutcome Uploader::Fail(const Status& status) {
  RQ_LOG_WARN("auto-backup: upload to {} failed: {}", storage_->Describe(), status.ToString());
  std::lock_guard lock(mutex_);
  status_.last_error = status.ToString();
  status_.last_error_time = Now();
  return RoundOutcome::kFailed;
}

Status Uploader::Prepare(std::vector<std::string>* files, std::string* upload_path, std::string* sum_hex) {
  Result<std::string> backup = MakeTempFile(options_.temp_dir, "rqlite-upload-");
  if (!backup.ok()) return backup.status();
  files->push_back(*backup);
  RQ_RETURN_IF_ERROR(source_.WriteBackup(*backup, options_.vacuum).WithContext("making the backup"));
  *upload_path = *backup;
  if (options_.compress) {
    Result<std::string> gz = MakeTempFile(options_.temp_dir, "rqlite-upload-gz-");
    if (!gz.ok()) return gz.status();
    files->push_back(*gz);
    RQ_RETURN_IF_ERROR(GzipFile(*backup, *gz).WithContext("compressing the backup"));
    *upload_path = *gz;
  }
  Result<std::string> sum = Sha256File(*upload_path);
  if (!sum.ok()) return sum.status();
  *sum_hex = HexEncode(*sum);
  return Status::OK();
}

RoundOutcome Uploader::Round() {
  if (!source_.IsLeader()) {
    leader_ = false;
    return RoundOutcome::kNotLeader;
  }
  if (!leader_) {  // a new leadership: what storage holds decides, not memory
    leader_ = true;
    session_sum_.clear();
    session_index_ = 0;
  }
  Result<uint64_t> index = source_.LastIndex();
  if (!index.ok()) return Fail(index.status().WithContext("reading the last index"));
  if (session_index_ != 0 && *index <= session_index_) {
    metrics_.num_uploads_skipped.Add();
    return RoundOutcome::kSkippedUnchanged;
  }
  std::vector<std::string> files;
  RemoveFiles cleanup{&files};
  std::string upload_path, sum;
  if (Status s = Prepare(&files, &upload_path, &sum); !s.ok()) return Fail(s);
  if (sum == session_sum_) {
    session_index_ = *index;
    metrics_.num_uploads_skipped.Add();
    return RoundOutcome::kSkippedUnchanged;
  }
  if (session_sum_.empty()) {
    Result<ObjectMetadata> stored = storage_->CurrentMetadata();
    if (stored.ok() && stored->sha256_hex == sum) {
      session_sum_ = sum;
      session_index_ = *index;
      metrics_.num_uploads_skipped_id.Add();
      RQ_LOG_INFO("auto-backup: {} already holds this data (sha256 {}), not uploading", storage_->Describe(), sum);
      return RoundOutcome::kSkippedStored;
    }
    if (!stored.ok() && !stored.status().IsNotFound()) {
      metrics_.num_sum_get_fail.Add();
      RQ_LOG_WARN("auto-backup: cannot read the stored sum of {}: {}", storage_->Describe(), stored.status().ToString());
    }
  }
  auto started = std::chrono::steady_clock::now();
  Result<UploadResult> uploaded = storage_->Upload(upload_path, ObjectMetadata{sum, std::to_string(*index)}, Now());
  if (!uploaded.ok()) {
    metrics_.num_uploads_fail.Add();
    return Fail(uploaded.status());
  }
  auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
  session_sum_ = sum;
  session_index_ = *index;
  metrics_.num_uploads_ok.Add();
  metrics_.total_upload_bytes.Add(static_cast<int64_t>(uploaded->bytes));
  metrics_.last_upload_bytes.Set(static_cast<int64_t>(uploaded->bytes));
  {
    std::lock_guard lock(mutex_);
    status_.last_upload_time = Now();
    status_.last_upload_duration = took;
    status_.last_upload_bytes = uploaded->bytes;
    status_.last_sum_uploaded = sum;
    status_.last_index = *index;
    status_.last_object_name = uploaded->object_name;
  }
  RQ_LOG_INFO("auto-backup: uploaded {} ({}) to {} in {}", uploaded->object_name, HumanizeBytes(uploaded->bytes),
              storage_->Describe(), FormatGoDuration(took));
  return RoundOutcome::kUploaded;
}

UploaderStatus Uploader::GetStatus() const {
  std::lock_guard lock(mutex_);
  return status_;
}

json::object Uploader::StatusJson() const {
  UploaderStatus s = GetStatus();
  return json::object{
      {"upload_destination", s.destination},
      {"upload_interval", FormatGoDuration(s.interval)},
      {"compress", s.compress},
      {"vacuum", s.vacuum},
      {"last_upload_time", Rfc3339(s.last_upload_time)},
      {"last_upload_duration", FormatGoDuration(s.last_upload_duration)},
      {"last_upload_bytes", s.last_upload_bytes},
      {"last_index", std::to_string(s.last_index)},
      {"last_sum_uploaded", s.last_sum_uploaded},
      {"last_object_name", s.last_object_name},
      {"last_error", s.last_error},
      {"last_error_time", s.last_error_time ? Rfc3339(s.last_error_time) : std::string()},
  };
}

}  // namespace rq::backup
