// StorageClient: where auto-backups go and auto-restores come from (a
// directory, S3, GCS). One object name per client, as in rqlite; with
// `timestamp` each upload gets its own name, "20060102150405_<name>".
//
// Each upload carries metadata the uploader reads back later to skip an
// upload of identical bytes, even on a new leader: the SHA-256 of the
// uploaded bytes (rqlite 8's "x-rqlite-sum") and the Raft index the data was
// taken at (rqlite 9+'s "x-rqlite-auto-backup-id").
//
// Thread-safety: a client is used by one thread at a time (the uploader's,
// or the restore at startup). Describe() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "backup/config.h"
#include "base/status.h"

namespace rq::backup {

// Metadata key names, without any storage's own prefix: S3 sends them as
// "x-amz-meta-<key>" headers, GCS as keys of the object's "metadata" map,
// the file storage as fields of METADATA.json.
inline constexpr const char* kS3SumKey = "x-rqlite-sum";             // rqlite 8 aws.AWSS3SumKey
inline constexpr const char* kS3IdKey = "x-rqlite-auto-backup-id";   // rqlite 9+ aws.AWSS3IDKey
inline constexpr const char* kGcsSumKey = "rqlite-sum";
inline constexpr const char* kGcsIdKey = "rqlite-auto-backup-id";    // rqlite gcp.GCPGCSIDKey

struct ObjectMetadata {
  std::string sha256_hex;  // of the bytes stored (gzip bytes when compressed); "" if unknown
  std::string id;          // decimal Raft index the data was taken at; "" if unknown
};

struct UploadResult {
  std::string object_name;  // the key actually written (timestamped or not)
  uint64_t bytes = 0;
};

using Deadline = std::chrono::steady_clock::time_point;

class StorageClient {
 public:
  virtual ~StorageClient() = default;

  // Store the whole file `path` under the client's name (timestamped by
  // `now`, UTC, when the client was made with timestamp), with `metadata`.
  // An object of the same name is replaced whole or not at all.
  virtual Result<UploadResult> Upload(const std::string& path, const ObjectMetadata& metadata,
                                      std::chrono::system_clock::time_point now) = 0;

  // Write the object's bytes to `path` (created or truncated). NotFound when
  // there is no object; Timeout when `deadline` passes first.
  virtual Status Download(const std::string& path, Deadline deadline) = 0;

  // The metadata stored with the object, read from the storage every time
  // (never cached). NotFound when there is no object. For timestamped S3 and
  // GCS clients this is the un-timestamped name, which such clients never
  // write: NotFound, so the first upload of a new leader always happens (as
  // in rqlite). The file storage tracks its latest upload in METADATA.json.
  virtual Result<ObjectMetadata> CurrentMetadata() = 0;

  // Where the objects go, for logs and /status ("s3://bucket/key"). Never
  // holds a secret.
  virtual std::string Describe() const = 0;
};

// "20060102150405_<last segment>" in UTC, the leading path segments kept:
// rqlite's TimestampedPath ("a/b.gz" at 2024-05-01 10:20:30 UTC ->
// "a/20240501102030_b.gz").
std::string TimestampedName(const std::string& name, std::chrono::system_clock::time_point now);

// The client the config names. S3 and GCS clients are made with their
// defaults (S3ClientOptions, GcsClientOptions); the GCS key file is read now.
// `cancel`, when given, aborts requests in flight once it turns true (pass
// the same flag as UploaderOptions::cancel so Stop() is prompt); it must
// outlive the client.
Result<std::unique_ptr<StorageClient>> NewStorageClient(const StorageConfig& config, bool timestamp,
                                                        const std::atomic<bool>* cancel = nullptr);

}  // namespace rq::backup
