// Object naming shared by the storages, and the factory from a config.
#include "backup/storage.h"

#include <ctime>

#include "backup/curl_library.h"
#include "backup/file_storage.h"
#include "backup/gcs_client.h"
#include "backup/s3_client.h"

namespace rq::backup {

std::string TimestampedName(const std::string& name, std::chrono::system_clock::time_point now) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[15];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &utc);  // Go's "20060102150405"
  size_t slash = name.rfind('/');
  if (slash == std::string::npos) return std::string(stamp) + "_" + name;
  return name.substr(0, slash + 1) + stamp + "_" + name.substr(slash + 1);
}

Result<std::unique_ptr<StorageClient>> NewStorageClient(const StorageConfig& config, bool timestamp,
                                                        const std::atomic<bool>* cancel) {
  // S3 and GCS speak HTTP through libcurl, loaded now: a node without it
  // fails here, at start, rather than at its first upload.
  if (!std::holds_alternative<FileConfig>(config)) {
    if (Result<const CurlLibrary*> curl = LoadCurl(); !curl.ok()) return curl.status();
  }
  if (const auto* s3 = std::get_if<S3Config>(&config)) {
    S3ClientOptions options;
    options.timestamp = timestamp;
    options.cancel = cancel;
    Result<std::unique_ptr<S3Client>> client = S3Client::Create(*s3, options);
    if (!client.ok()) return client.status();
    return std::unique_ptr<StorageClient>(std::move(*client));
  }
  if (const auto* gcs = std::get_if<GcsConfig>(&config)) {
    GcsClientOptions options;
    options.timestamp = timestamp;
    options.cancel = cancel;
    Result<std::unique_ptr<GcsClient>> client = GcsClient::Create(*gcs, options);
    if (!client.ok()) return client.status();
    return std::unique_ptr<StorageClient>(std::move(*client));
  }
  Result<std::unique_ptr<FileStorage>> client = FileStorage::Open(std::get<FileConfig>(config), timestamp);
  if (!client.ok()) return client.status();
  return std::unique_ptr<StorageClient>(std::move(*client));
}

}  // namespace rq::backup
