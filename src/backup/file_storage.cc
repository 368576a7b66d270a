// The "file" storage: atomic copy into a directory plus METADATA.json.
#include "backup/file_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "backup/codec.h"

namespace rq::backup {
namespace json = boost::json;
namespace {

Status Errno(std::string_view what, const std::string& path) {
  return Status::IOError(std::string(what) + " " + path + ": " + std::strerror(errno));
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Status MakeDirs(const std::string& dir) {
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = dir.find('/', slash + 1);
    std::string prefix = dir.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return Errno("cannot create directory", prefix);
  }
  return Status::OK();
}

// Copies `from` to `to` (which exists, empty) and syncs it.
Status CopyAndSync(const std::string& from, const std::string& to, uint64_t* bytes) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno("cannot open", from);
  int out = ::open(to.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (out < 0) {
    ::close(in);
    return Errno("cannot open", to);
  }
  std::vector<char> buffer(64 * 1024);
  Status status;
  *bytes = 0;
  for (;;) {
    ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) { status = Errno("cannot read", from); break; }
    if (got == 0) break;
    for (ssize_t done = 0; done < got && status.ok();) {
      ssize_t put = ::write(out, buffer.data() + done, static_cast<size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) status = Errno("cannot write", to);
      else done += put;
    }
    if (!status.ok()) break;
    *bytes += static_cast<uint64_t>(got);
  }
  if (status.ok() && ::fsync(out) != 0) status = Errno("cannot sync", to);
  ::close(in);
  if (::close(out) != 0 && status.ok()) status = Errno("cannot close", to);
  return status;
}

Status WriteAndSync(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  Status status;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) status = Errno("cannot write", path);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("cannot sync", path);
  ::close(fd);
  return status;
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<FileStorage>> FileStorage::Open(const FileConfig& config, bool timestamp) {
  RQ_ASSERT(!config.dir.empty() && config.dir[0] == '/');
  RQ_ASSERT(config.name.find('/') == std::string::npos);
  RQ_RETURN_IF_ERROR(MakeDirs(config.dir));
  Result<std::string> probe = MakeTempFile(config.dir, ".touch");
  if (!probe.ok()) return probe.status().WithContext("backup directory is not writable");
  RemoveQuietly(*probe);
  return std::unique_ptr<FileStorage>(new FileStorage(config, timestamp));
}

Result<UploadResult> FileStorage::Upload(const std::string& path, const ObjectMetadata& metadata,
                                         std::chrono::system_clock::time_point now) {
  std::string name = timestamp_ ? TimestampedName(config_.name, now) : config_.name;
  std::string final_path = config_.dir + "/" + name;
  std::string meta_path = config_.dir + "/" + kFileMetadataName;
  Result<std::string> temp = MakeTempFile(config_.dir, ".upload-");
  if (!temp.ok()) return temp.status();
  UploadResult result{final_path, 0};
  Status status = CopyAndSync(path, *temp, &result.bytes);
  json::object meta{{"id", metadata.id},
                    {"sha256", metadata.sha256_hex},
                    {"timestamp", std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()},
                    {"name", final_path}};
  std::string meta_temp = meta_path + ".tmp";
  if (status.ok()) status = WriteAndSync(meta_temp, json::serialize(meta));
  if (status.ok() && std::rename(temp->c_str(), final_path.c_str()) != 0) {
    status = Errno("cannot rename into", final_path);
  }
  if (status.ok() && std::rename(meta_temp.c_str(), meta_path.c_str()) != 0) {
    status = Errno("cannot rename into", meta_path);
  }
  if (!status.ok()) {
    RemoveQuietly(*temp);
    RemoveQuietly(meta_temp);
    return status;
  }
  SyncDir(config_.dir);
  return result;
}

Result<std::string> FileStorage::LatestPath() const {
  std::string meta_path = config_.dir + "/" + kFileMetadataName;
  if (!Exists(meta_path)) return Status::NotFound("no backup in " + config_.dir + " (no " + kFileMetadataName + ")");
  std::ifstream in(meta_path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  const json::string* name = nullptr;
  if (!ec && value.is_object()) {
    const json::value* found = value.as_object().if_contains("name");
    if (found != nullptr && found->is_string()) name = &found->as_string();
  }
  if (name == nullptr) return Status::Corruption(meta_path + " is not valid backup metadata");
  return std::string(*name);
}

Status FileStorage::Download(const std::string& path, Deadline deadline) {
  std::string source = config_.dir + "/" + config_.name;
  if (!Exists(source)) {
    Result<std::string> latest = LatestPath();
    if (!latest.ok()) {
      return latest.status().IsNotFound() ? Status::NotFound("no backup file " + source) : latest.status();
    }
    source = *latest;
    if (!Exists(source)) return Status::NotFound("no backup file " + source + " (named by " + kFileMetadataName + ")");
  }
  if (std::chrono::steady_clock::now() > deadline) return Status::Timeout("restore timed out before copying " + source);
  std::ofstream(path, std::ios::binary | std::ios::trunc).close();
  uint64_t bytes = 0;
  return CopyAndSync(source, path, &bytes);
}

Result<ObjectMetadata> FileStorage::CurrentMetadata() {
  std::string meta_path = config_.dir + "/" + kFileMetadataName;
  if (!Exists(meta_path)) return Status::NotFound("no " + meta_path);
  std::ifstream in(meta_path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) return Status::Corruption(meta_path + " is not valid JSON");
  ObjectMetadata metadata;
  if (const json::value* id = value.as_object().if_contains("id"); id != nullptr && id->is_string()) {
    metadata.id = std::string(id->as_string());
  }
  if (const json::value* sum = value.as_object().if_contains("sha256"); sum != nullptr && sum->is_string()) {
    metadata.sha256_hex = std::string(sum->as_string());
  }
  return metadata;
}

std::string FileStorage::Describe() const { return "dir:" + config_.dir + ", file:" + config_.name; }

}  // namespace rq::backup
