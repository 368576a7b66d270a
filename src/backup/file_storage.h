// FileStorage: the "file" auto-backup type, a directory on this machine
// (rqlite auto/file). Each upload is copied to a temporary file in the
// directory, synced, and renamed over "<dir>/<name>" (or its timestamped
// name), so a reader sees the old file or the new one, never a part.
// "<dir>/METADATA.json" then records the latest upload:
//   {"id": "<raft index>", "sha256": "<hex>", "timestamp": <unix ms>, "name": "<full path>"}
// (rqlite writes id, timestamp and name; sha256 is ours).
//
// Thread-safety: one thread at a time (see storage.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "backup/storage.h"

namespace rq::backup {

inline constexpr const char* kFileMetadataName = "METADATA.json";

class FileStorage final : public StorageClient {
 public:
  // REQUIRES: config passed ParseBackupConfig's checks (absolute dir, plain
  // name). Creates the directory and checks it is writable.
  static Result<std::unique_ptr<FileStorage>> Open(const FileConfig& config, bool timestamp);

  Result<UploadResult> Upload(const std::string& path, const ObjectMetadata& metadata,
                              std::chrono::system_clock::time_point now) override;
  // Reads "<dir>/<name>"; when that does not exist (timestamped uploads),
  // the latest upload METADATA.json names.
  Status Download(const std::string& path, Deadline deadline) override;
  Result<ObjectMetadata> CurrentMetadata() override;
  std::string Describe() const override;

 private:
  FileStorage(FileConfig config, bool timestamp) : config_(std::move(config)), timestamp_(timestamp) {}
  // The full path METADATA.json names; NotFound when there is none.
  Result<std::string> LatestPath() const;

  FileConfig config_;
  bool timestamp_;
};

}  // namespace rq::backup
