// Uploader: the -auto-backup schedule (rqlite auto/backup/uploader.go).
//
// Every node runs one; each `interval` it does a round, and a round does
// something only while BackupSource::IsLeader(), so a new leader takes over
// the schedule. A round:
//   1. asks LastIndex(); unchanged since this leadership's last upload ->
//      skipped (num_uploads_skipped), no backup made;
//   2. has the source write a backup file (VACUUMed if `vacuum`), gzips it
//      unless compress is off, and takes the sha256 of the bytes to upload
//      (the gzip bytes when compressed, as rqlite 8 did);
//   3. skips when that sum equals the last one uploaded in this leadership
//      (num_uploads_skipped); on the first round of a leadership, reads the
//      sum stored with the object and skips when it matches
//      (num_uploads_skipped_id), so an unchanged database is not uploaded
//      again by a restarted node or a new leader;
//   4. uploads with metadata {sha256, index}; records the outcome for
//      /status ("auto_backups") and the "uploader" counters.
//
// Thread-safety: Start/Stop from the owning thread; RunOnce, GetStatus and
// StatusJson from any thread (rounds are serialized). The source is called
// only from the thread running a round.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/json/object.hpp>

#include "backup/backup_metrics.h"
#include "backup/config.h"
#include "backup/storage.h"
#include "base/status.h"

namespace rq::backup {

// What the node gives the uploader. Calls come from the uploader's thread.
class BackupSource {
 public:
  virtual ~BackupSource() = default;
  // True while this node is the Raft leader.
  virtual bool IsLeader() = 0;
  // The Raft index of the last change applied to the database (rqlite's
  // DataProvider.LastIndex): it must grow whenever the data changes.
  virtual Result<uint64_t> LastIndex() = 0;
  // Write a complete, standalone SQLite database of the current data to
  // `path` (the file exists, empty; overwrite it). With `vacuum`, a
  // VACUUMed copy (VACUUM INTO). The file is the uploader's to delete.
  virtual Status WriteBackup(const std::string& path, bool vacuum) = 0;
};

struct UploaderOptions {
  std::chrono::nanoseconds interval{std::chrono::minutes(1)};  // > 0
  bool compress = true;
  bool vacuum = false;
  std::string temp_dir;  // where backup files are made; "" = $TMPDIR or /tmp
  // The time objects are named and /status is stamped by (tests inject it).
  std::function<std::chrono::system_clock::time_point()> now;
  // Set by Stop() so requests in flight end; pass the same flag to
  // NewStorageClient. May be null.
  std::atomic<bool>* cancel = nullptr;
  UploaderMetrics* metrics = nullptr;  // null = UploaderCounters()

  static UploaderOptions FromConfig(const BackupConfig& config);
};

enum class RoundOutcome {
  kNotLeader,
  kSkippedUnchanged,  // same index or same sum as this leadership's last upload
  kSkippedStored,     // the storage already holds these bytes
  kUploaded,
  kFailed,
};

// What /status reports under "auto_backups".
struct UploaderStatus {
  std::string destination;
  std::chrono::nanoseconds interval{0};
  bool compress = true;
  bool vacuum = false;
  std::optional<std::chrono::system_clock::time_point> last_upload_time;
  std::chrono::nanoseconds last_upload_duration{0};
  uint64_t last_upload_bytes = 0;
  std::string last_sum_uploaded;  // hex
  uint64_t last_index = 0;
  std::string last_object_name;
  std::string last_error;  // "" after a round that did not fail
  std::optional<std::chrono::system_clock::time_point> last_error_time;
};

class Uploader {
 public:
  // REQUIRES: options.interval > 0. `source` outlives the uploader.
  Uploader(std::unique_ptr<StorageClient> storage, BackupSource& source, UploaderOptions options);
  ~Uploader();  // Stop()
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // Starts the thread: a round every interval, the first one interval
  // after Start (as rqlite's ticker).
  void Start();
  // Wakes the thread, cancels requests in flight and joins. Idempotent.
  void Stop();

  // One round now, on the calling thread.
  RoundOutcome RunOnce();

  UploaderStatus GetStatus() const;
  // rqlite's keys: upload_destination, upload_interval ("1m0s"), compress,
  // last_upload_time (RFC 3339, Go's zero time before any upload),
  // last_upload_duration ("1.2s"), last_index (a decimal string),
  // last_sum_uploaded (hex); and ours: vacuum, last_upload_bytes,
  // last_object_name, last_error, last_error_time.
  boost::json::object StatusJson() const;

 private:
  RoundOutcome Round();
  // Writes, compresses and hashes the backup; fills *upload_path and
  // *sum_hex. `files` collects what to delete afterwards.
  Status Prepare(std::vector<std::string>* files, std::string* upload_path, std::string* sum_hex);
  RoundOutcome Fail(const Status& status);
  void Loop();
  std::chrono::system_clock::time_point Now() const;

  std::unique_ptr<StorageClient> storage_;
  BackupSource& source_;
  UploaderOptions options_;
  UploaderMetrics& metrics_;

  std::mutex round_mutex_;  // one round at a time
  // Guarded by round_mutex_: what this leadership uploaded last.
  bool leader_ = false;
  std::string session_sum_;
  uint64_t session_index_ = 0;

  mutable std::mutex mutex_;
  UploaderStatus status_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace rq::backup
