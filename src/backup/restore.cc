// Auto-restore: download, gunzip, check (see restore.h).
#include "backup/restore.h"

#include <sqlite3.h>

#include <memory>

#include "backup/codec.h"
#include "base/go_format.h"
#include "base/logging.h"

namespace rq::backup {
namespace {

// "file:" URI of a path: '%', '?' and '#' would end or escape the path.
std::string FileUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%') uri += "%25";
    else if (c == '?') uri += "%3f";
    else if (c == '#') uri += "%23";
    else uri.push_back(c);
  }
  return uri + "?immutable=1";
}

Status IntegrityCheck(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(FileUri(path).c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    return Status::Corruption("restored file is not a usable SQLite database: " +
                              std::string(raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_stmt* raw_stmt = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "PRAGMA integrity_check", -1, &raw_stmt, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw_stmt, sqlite3_finalize);
  if (rc != SQLITE_OK) return Status::Corruption("restored database: " + std::string(sqlite3_errmsg(db.get())));
  std::string problems;
  int rows = 0;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    std::string line = text ? reinterpret_cast<const char*>(text) : "";
    if (line != "ok" && rows < 5) problems += (problems.empty() ? "" : "; ") + line;
    ++rows;
  }
  if (rc != SQLITE_DONE) return Status::Corruption("restored database: " + std::string(sqlite3_errmsg(db.get())));
  if (!problems.empty()) return Status::Corruption("restored database fails integrity_check: " + problems);
  return Status::OK();
}

}  // namespace

Status CheckSqliteFile(const std::string& path, bool integrity_check) {
  Result<bool> header = HasSqliteHeader(path);
  if (!header.ok()) return header.status();
  if (!*header) return Status::Corruption("restored data is not a SQLite database (no \"SQLite format 3\" header)");
  return integrity_check ? IntegrityCheck(path) : Status::OK();
}

Result<RestoredFile> DownloadAndCheck(StorageClient& storage, const RestoreOptions& options) {
  DownloaderMetrics& metrics = options.metrics != nullptr ? *options.metrics : DownloaderCounters();
  Deadline deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.timeout);
  Result<std::string> download = MakeTempFile(options.dir, ".auto-restore-download-");
  if (!download.ok()) return download.status();
  Status status = storage.Download(*download, deadline);
  if (status.IsTimeout() || std::chrono::steady_clock::now() > deadline) {
    status = Status::Timeout("download of " + storage.Describe() + " did not finish within " +
                             FormatGoDuration(options.timeout));
  }
  RestoredFile file;
  if (status.ok()) {
    Result<uint64_t> size = FileSize(*download);
    status = size.status();
    if (size.ok()) file.downloaded_bytes = *size;
  }
  if (!status.ok()) {
    metrics.num_downloads_fail.Add();
    RemoveQuietly(*download);
    return status;
  }
  metrics.num_downloads_ok.Add();
  metrics.download_bytes.Add(static_cast<int64_t>(file.downloaded_bytes));

  Result<bool> gzipped = IsGzipFile(*download);
  if (!gzipped.ok()) {
    RemoveQuietly(*download);
    return gzipped.status();
  }
  file.was_compressed = *gzipped;
  file.path = *download;
  if (file.was_compressed) {
    Result<std::string> plain = MakeTempFile(options.dir, ".auto-restore-");
    status = plain.status();
    if (plain.ok()) status = GunzipFile(*download, *plain);
    RemoveQuietly(*download);
    if (!status.ok()) {
      if (plain.ok()) RemoveQuietly(*plain);
      return status;
    }
    file.path = *plain;
  }
  status = CheckSqliteFile(file.path, options.integrity_check);
  if (!status.ok()) {
    RemoveQuietly(file.path);
    return status;
  }
  return file;
}

Result<AutoRestoreResult> RunAutoRestore(const std::string& config_path, const std::string& dir,
                                         const EnvLookup& lookup) {
  Result<RestoreConfig> config = ReadRestoreConfigFile(config_path, lookup);
  if (!config.ok()) return config.status();
  Result<std::unique_ptr<StorageClient>> storage = NewStorageClient(config->storage, false);
  if (!storage.ok()) return storage.status().WithContext("auto-restore");
  RQ_LOG_INFO("auto-restore: downloading {} (timeout {})", (*storage)->Describe(), FormatGoDuration(config->timeout));
  auto started = std::chrono::steady_clock::now();
  RestoreOptions options;
  options.dir = dir;
  options.timeout = config->timeout;
  Result<RestoredFile> file = DownloadAndCheck(**storage, options);
  AutoRestoreResult result;
  if (file.ok()) {
    result.action = AutoRestoreResult::Action::kLoad;
    result.file = std::move(*file);
    RQ_LOG_INFO("auto-restore: {} downloaded and checked in {} ({}{})", (*storage)->Describe(),
                FormatGoDuration(std::chrono::steady_clock::now() - started), HumanizeBytes(result.file.downloaded_bytes),
                result.file.was_compressed ? ", gzip" : "");
    return result;
  }
  Status error = file.status().WithContext("auto-restore from " + (*storage)->Describe());
  if (!config->continue_on_failure) return error;
  RQ_LOG_WARN("{}, continuing with node startup anyway (continue_on_failure)", error.ToString());
  result.action = AutoRestoreResult::Action::kContinue;
  result.error = error;
  return result;
}

}  // namespace rq::backup
