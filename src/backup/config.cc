// Parsing and checking the auto-backup and auto-restore config files.
#include "backup/config.h"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "backup/codec.h"

namespace rq::backup {
namespace json = boost::json;
namespace {

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

// Reads the fields of one JSON object the way Go's encoding/json fills a
// struct: keys match case-insensitively, the last one wins, null is unset.
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string context) : object_(object), context_(std::move(context)) {}

  const json::value* Find(std::string_view name) const {
    const json::value* found = nullptr;
    for (const auto& entry : object_) {
      if (AsciiLower(entry.key()) == name && !entry.value().is_null()) found = &entry.value();
    }
    return found;
  }

  Status Error(std::string_view name, std::string_view what) const {
    return Status::InvalidArgument(context_ + ": \"" + std::string(name) + "\": " + std::string(what));
  }

  Status String(std::string_view name, std::string* out) const {
    const json::value* v = Find(name);
    if (v == nullptr) return Status::OK();
    if (!v->is_string()) return Error(name, std::string("must be a string, not ") + KindName(*v));
    *out = std::string(v->as_string());
    return Status::OK();
  }

  Status Bool(std::string_view name, bool* out) const {
    const json::value* v = Find(name);
    if (v == nullptr) return Status::OK();
    if (!v->is_bool()) return Error(name, std::string("must be true or false, not ") + KindName(*v));
    *out = v->as_bool();
    return Status::OK();
  }

  Status Int(std::string_view name, int64_t* out) const {
    const json::value* v = Find(name);
    if (v == nullptr) return Status::OK();
    if (v->is_int64()) {
      *out = v->as_int64();
      return Status::OK();
    }
    return Error(name, std::string("must be an integer, not ") + KindName(*v));
  }

  // rqlite's auto.Duration: a Go duration string, or a number of
  // nanoseconds; either way above zero ("invalid interval" otherwise).
  Status Duration(std::string_view name, std::chrono::nanoseconds* out, bool* present) const {
    const json::value* v = Find(name);
    *present = v != nullptr;
    if (v == nullptr) return Status::OK();
    std::chrono::nanoseconds value{0};
    if (v->is_string()) {
      Result<std::chrono::nanoseconds> parsed = ParseGoDuration(v->as_string());
      if (!parsed.ok()) return Error(name, parsed.status().message());
      value = *parsed;
    } else if (v->is_number()) {
      double nanos = v->to_number<double>();
      if (!(nanos < 9.2e18 && nanos > -9.2e18)) return Error(name, "number out of range");
      value = std::chrono::nanoseconds(static_cast<int64_t>(nanos));
    } else {
      return Error(name, std::string("must be a duration string such as \"30s\", not ") + KindName(*v));
    }
    if (value.count() <= 0) return Error(name, "invalid interval: must be greater than zero");
    *out = value;
    return Status::OK();
  }

 private:
  const json::object& object_;
  std::string context_;
};

Result<S3Config> ParseS3(const FieldReader& f) {
  S3Config c;
  RQ_RETURN_IF_ERROR(f.String("endpoint", &c.endpoint));
  RQ_RETURN_IF_ERROR(f.String("region", &c.region));
  RQ_RETURN_IF_ERROR(f.String("access_key_id", &c.access_key_id));
  RQ_RETURN_IF_ERROR(f.String("secret_access_key", &c.secret_access_key));
  RQ_RETURN_IF_ERROR(f.String("bucket", &c.bucket));
  RQ_RETURN_IF_ERROR(f.String("path", &c.path));
  RQ_RETURN_IF_ERROR(f.Bool("force_path_style", &c.force_path_style));
  if (c.bucket.empty()) return f.Error("bucket", "required");
  if (c.path.empty()) return f.Error("path", "required (the object key)");
  if (c.region.empty() && c.endpoint.empty()) return f.Error("region", "required when no endpoint is given");
  if (c.access_key_id.empty() != c.secret_access_key.empty()) {
    return f.Error(c.access_key_id.empty() ? "access_key_id" : "secret_access_key",
                   "required when the other key of the pair is given");
  }
  return c;
}

Result<GcsConfig> ParseGcs(const FieldReader& f) {
  GcsConfig c;
  RQ_RETURN_IF_ERROR(f.String("endpoint", &c.endpoint));
  RQ_RETURN_IF_ERROR(f.String("project_id", &c.project_id));
  RQ_RETURN_IF_ERROR(f.String("bucket", &c.bucket));
  RQ_RETURN_IF_ERROR(f.String("name", &c.name));
  RQ_RETURN_IF_ERROR(f.String("credentials_path", &c.credentials_path));
  if (c.bucket.empty()) return f.Error("bucket", "required");
  if (c.name.empty()) return f.Error("name", "required (the object name)");
  if (c.credentials_path.empty()) return f.Error("credentials_path", "required (a service-account key file)");
  return c;
}

Result<FileConfig> ParseFile(const FieldReader& f) {
  FileConfig c;
  RQ_RETURN_IF_ERROR(f.String("dir", &c.dir));
  RQ_RETURN_IF_ERROR(f.String("file", &c.name));
  RQ_RETURN_IF_ERROR(f.String("name", &c.name));
  if (c.dir.empty()) return f.Error("dir", "required");
  if (c.dir[0] != '/') return f.Error("dir", "must be an absolute path, not \"" + c.dir + "\"");
  if (c.name.empty()) return f.Error("name", "required (the backup file's name)");
  if (c.name.find('/') != std::string::npos || c.name == "." || c.name == "..") {
    return f.Error("name", "must be a plain file name without '/', not \"" + c.name + "\"");
  }
  return c;
}

// The part both files share: "version", "type" and "sub".
struct Common {
  int64_t version = 0;
  StorageConfig storage;
};

Result<Common> ParseCommon(const FieldReader& top, std::string_view context) {
  Common common;
  RQ_RETURN_IF_ERROR(top.Int("version", &common.version));
  if (common.version > kConfigVersionMax) {
    return top.Error("version", "invalid version " + std::to_string(common.version) + " (at most " +
                                    std::to_string(kConfigVersionMax) + " is understood)");
  }
  std::string type;
  RQ_RETURN_IF_ERROR(top.String("type", &type));
  if (type != "s3" && type != "gcs" && type != "file") {
    return top.Error("type", "unsupported storage type \"" + type + "\" (s3, gcs or file)");
  }
  const json::value* sub = top.Find("sub");
  if (sub == nullptr) return top.Error("sub", "required (the " + type + " storage settings)");
  if (!sub->is_object()) return top.Error("sub", std::string("must be an object, not ") + KindName(*sub));
  FieldReader fields(sub->as_object(), std::string(context) + ": \"sub\"");
  if (type == "s3") {
    Result<S3Config> s3 = ParseS3(fields);
    if (!s3.ok()) return s3.status();
    common.storage = std::move(*s3);
  } else if (type == "gcs") {
    Result<GcsConfig> gcs = ParseGcs(fields);
    if (!gcs.ok()) return gcs.status();
    common.storage = std::move(*gcs);
  } else {
    Result<FileConfig> file = ParseFile(fields);
    if (!file.ok()) return file.status();
    common.storage = std::move(*file);
  }
  return common;
}

Result<json::object> ParseObject(std::string_view text, std::string_view context) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return Status::InvalidArgument(std::string(context) + ": not valid JSON: " + ec.message());
  if (!value.is_object()) return Status::InvalidArgument(std::string(context) + ": must be a JSON object");
  return std::move(value.as_object());
}

Result<std::string> ReadExpanded(const std::string& path, const EnvLookup& lookup, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(std::string(what) + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(std::string(what) + ": error reading " + path);
  return ExpandEnv(text.str(), lookup);
}

constexpr std::string_view kBackupContext = "auto-backup config";
constexpr std::string_view kRestoreContext = "auto-restore config";

}  // namespace

std::string_view StorageTypeName(const StorageConfig& storage) {
  if (std::holds_alternative<S3Config>(storage)) return "s3";
  if (std::holds_alternative<GcsConfig>(storage)) return "gcs";
  return "file";
}

Result<BackupConfig> ParseBackupConfig(std::string_view json_text) {
  Result<json::object> object = ParseObject(json_text, kBackupContext);
  if (!object.ok()) return object.status();
  FieldReader top(*object, std::string(kBackupContext));
  Result<Common> common = ParseCommon(top, kBackupContext);
  if (!common.ok()) return common.status();
  BackupConfig config;
  config.version = common->version;
  config.storage = std::move(common->storage);
  bool has_interval = false;
  RQ_RETURN_IF_ERROR(top.Duration("interval", &config.interval, &has_interval));
  if (!has_interval) return top.Error("interval", "required (how often to back up, e.g. \"5m\")");
  RQ_RETURN_IF_ERROR(top.Bool("no_compress", &config.no_compress));
  RQ_RETURN_IF_ERROR(top.Bool("vacuum", &config.vacuum));
  RQ_RETURN_IF_ERROR(top.Bool("timestamp", &config.timestamp));
  RQ_ASSERT(config.interval.count() > 0);
  return config;
}

Result<RestoreConfig> ParseRestoreConfig(std::string_view json_text) {
  Result<json::object> object = ParseObject(json_text, kRestoreContext);
  if (!object.ok()) return object.status();
  FieldReader top(*object, std::string(kRestoreContext));
  Result<Common> common = ParseCommon(top, kRestoreContext);
  if (!common.ok()) return common.status();
  RestoreConfig config;
  config.version = common->version;
  config.storage = std::move(common->storage);
  bool has_timeout = false;
  RQ_RETURN_IF_ERROR(top.Duration("timeout", &config.timeout, &has_timeout));
  RQ_RETURN_IF_ERROR(top.Bool("continue_on_failure", &config.continue_on_failure));
  RQ_ASSERT(config.timeout.count() > 0);
  return config;
}

Result<BackupConfig> ReadBackupConfigFile(const std::string& path, const EnvLookup& lookup) {
  Result<std::string> text = ReadExpanded(path, lookup, kBackupContext);
  if (!text.ok()) return text.status();
  return ParseBackupConfig(*text);
}

Result<RestoreConfig> ReadRestoreConfigFile(const std::string& path, const EnvLookup& lookup) {
  Result<std::string> text = ReadExpanded(path, lookup, kRestoreContext);
  if (!text.ok()) return text.status();
  return ParseRestoreConfig(*text);
}

std::string DescribeStorage(const StorageConfig& storage) {
  if (const auto* s3 = std::get_if<S3Config>(&storage)) {
    std::string where = s3->endpoint.empty() ? "s3://" + s3->bucket + "/" + s3->path
                                             : s3->endpoint + "/" + s3->bucket + "/" + s3->path;
    return where + (s3->region.empty() ? "" : " (region " + s3->region + ")");
  }
  if (const auto* gcs = std::get_if<GcsConfig>(&storage)) return "gs://" + gcs->bucket + "/" + gcs->name;
  const auto& file = std::get<FileConfig>(storage);
  return "dir:" + file.dir + ", file:" + file.name;
}

}  // namespace rq::backup
