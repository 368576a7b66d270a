// Auto-restore (rqlite auto/restore/downloader.go and rqlited's startup):
// download the backup object into a directory, gunzip it when it starts
// with gzip's magic, and check it is a valid SQLite database, all before
// the node serves. The result is one plain database file the node then
// loads (as rqlite's Store.SetRestorePath); anything that fails leaves no
// file behind.
//
// Validity: the 16-byte SQLite header, then PRAGMA integrity_check through
// libsqlite3 opened read-only on the immutable file. This module links
// SQLite itself for that one check (it may not include db/), so the node
// gets a file that is known good and nothing half-loaded can happen.
//
// continue_on_failure follows the issue: any failure of the restore itself
// (missing object, network, timeout, corrupt or non-SQLite data) lets the
// node start empty when set. rqlite applies it to download failures only
// and always stops on an invalid SQLite file; config errors stop the node in
// both.
//
// Thread-safety: functions; one restore at a time per directory.
#pragma once

#include <chrono>
#include <string>

#include "backup/backup_metrics.h"
#include "backup/config.h"
#include "backup/storage.h"
#include "base/status.h"

namespace rq::backup {

struct RestoreOptions {
  std::string dir;  // where the temporary and final files go (e.g. the data dir); must exist
  std::chrono::nanoseconds timeout = kRestoreTimeoutDefault;
  bool integrity_check = true;  // PRAGMA integrity_check after the header check
  DownloaderMetrics* metrics = nullptr;  // null = DownloaderCounters()
};

struct RestoredFile {
  std::string path;  // a plain SQLite database in options.dir; the caller's to load and delete
  uint64_t downloaded_bytes = 0;
  bool was_compressed = false;
};

// Download, decompress and check. NotFound for a missing object,
// Corruption for bad gzip or data that is not a valid SQLite database,
// Timeout when options.timeout passes, else the storage's error.
Result<RestoredFile> DownloadAndCheck(StorageClient& storage, const RestoreOptions& options);

// Checks `path` is a SQLite database: the header, then (if asked)
// integrity_check. Corruption with the reason when it is not.
Status CheckSqliteFile(const std::string& path, bool integrity_check);

// What startup should do after -auto-restore.
struct AutoRestoreResult {
  enum class Action {
    kLoad,      // load `file.path` before serving
    kContinue,  // the restore failed (`error`) but continue_on_failure: start empty
  };
  Action action = Action::kContinue;
  RestoredFile file;
  Status error;
};

// The whole -auto-restore step for a node with no data yet: read the config
// file (expanding $VAR), make the client, download and check into `dir`.
// A bad config file or one whose client cannot be made is an error whatever
// continue_on_failure says; a failed restore is an error unless
// continue_on_failure, then kContinue with the reason.
// REQUIRES: the caller checked the node has no data (rqlite skips the
// restore and logs why when it has).
Result<AutoRestoreResult> RunAutoRestore(const std::string& config_path, const std::string& dir,
                                         const EnvLookup& lookup = ProcessEnv());

}  // namespace rq::backup
