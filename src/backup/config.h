// The config files of -auto-backup and -auto-restore, in rqlite's JSON
// format (rqlite auto/backup/config.go, auto/restore/config.go, auto/types.go):
//
//   {"version": 1, "type": "s3", "interval": "5m", "timestamp": false,
//    "no_compress": false, "vacuum": false,
//    "sub": {"access_key_id": "$AWS_KEY", "secret_access_key": "...",
//            "region": "us-east-1", "bucket": "b", "path": "backups/db.sqlite.gz",
//            "endpoint": "http://127.0.0.1:9000", "force_path_style": true}}
//
// The restore file has the same "version", "type" and "sub", plus "timeout"
// (default 30s) and "continue_on_failure". As in rqlite, the whole file text
// goes through Go's os.ExpandEnv before it is parsed, keys match
// case-insensitively (Go's encoding/json), unknown keys are ignored and null
// leaves a field at its default.
//
// Thread-safety: values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "base/go_compat.h"
#include "base/status.h"

namespace rq::backup {

// The highest config "version" understood (rqlite auto.Version).
inline constexpr int64_t kConfigVersionMax = 1;
// rqlite's default restore timeout (auto/restore/config.go).
inline constexpr std::chrono::seconds kRestoreTimeoutDefault{30};

// "sub" of type "s3" (rqlite aws.S3Config). An empty access key pair means
// the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// environment variables (the first link of the AWS default chain).
struct S3Config {
  std::string endpoint;  // "" = AWS; "host[:port]" means https://; http:// allowed
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;  // never logged; Describe() leaves it out
  std::string bucket;
  std::string path;  // the object key
  bool force_path_style = false;
};

// "sub" of type "gcs" (rqlite gcp.GCSConfig).
struct GcsConfig {
  std::string endpoint;  // "" = https://storage.googleapis.com
  std::string project_id;
  std::string bucket;
  std::string name;  // the object name
  std::string credentials_path;  // a service-account key file (JSON)
};

// "sub" of type "file" (rqlite auto/file Config: "dir" and "name"; "file"
// is accepted for "name" too, as rqlite's README spells it).
struct FileConfig {
  std::string dir;   // absolute
  std::string name;  // a plain file name, no '/'
};

using StorageConfig = std::variant<S3Config, GcsConfig, FileConfig>;

// "s3", "gcs" or "file".
std::string_view StorageTypeName(const StorageConfig& storage);

struct BackupConfig {
  int64_t version = 0;
  std::chrono::nanoseconds interval{0};  // > 0
  bool no_compress = false;
  bool vacuum = false;
  bool timestamp = false;  // name each object "20060102150405_<name>" (UTC)
  StorageConfig storage;
};

struct RestoreConfig {
  int64_t version = 0;
  std::chrono::nanoseconds timeout = kRestoreTimeoutDefault;  // > 0
  bool continue_on_failure = false;
  StorageConfig storage;
};

// Parse already-expanded JSON text. Every bad field gives InvalidArgument
// naming the field, e.g. `auto-backup config: "interval": time: unknown unit
// "d" in duration "1d"`.
Result<BackupConfig> ParseBackupConfig(std::string_view json_text);
Result<RestoreConfig> ParseRestoreConfig(std::string_view json_text);

// Read `path`, expand $VAR / ${VAR} with `lookup`, then parse. A file that
// cannot be read is an IOError naming it.
Result<BackupConfig> ReadBackupConfigFile(const std::string& path, const EnvLookup& lookup = ProcessEnv());
Result<RestoreConfig> ReadRestoreConfigFile(const std::string& path, const EnvLookup& lookup = ProcessEnv());

// One line for logs and /status: type, bucket, key, endpoint; never a secret.
std::string DescribeStorage(const StorageConfig& storage);

}  // namespace rq::backup
