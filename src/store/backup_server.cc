#include "store/backup_server.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "base/logging.h"
#include "store/store.h"

namespace rq::store {
namespace {

Store::BackupFormat StoreFormat(cluster::BackupFormat format) {
  switch (format) {
    case cluster::BackupFormat::kSql: return Store::BackupFormat::kSql;
    case cluster::BackupFormat::kDelete: return Store::BackupFormat::kDelete;
    case cluster::BackupFormat::kBinary: break;
  }
  return Store::BackupFormat::kBinary;
}

cluster::BackupResponse Failed(Status status) {
  cluster::BackupResponse response;
  response.status = std::move(status);
  return response;
}

void RemoveQuietly(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

}  // namespace

BackupServer::BackupServer(Store* store) : store_(store) {}

BackupServer::~BackupServer() {
  worker_.Stop();
  for (auto& [token, file] : files_) RemoveQuietly(file.path);
}

void BackupServer::Serve(const cluster::BackupRequest& request, std::function<void(cluster::BackupResponse)> done) {
  auto run = [this, request, done]() mutable {
    done(request.token.empty() ? Start(request) : Continue(request));
  };
  if (!worker_.Post(run)) done(Failed(Status::Busy("too many backups in progress")));
}

cluster::BackupResponse BackupServer::Start(const cluster::BackupRequest& request) {
  if (!store_->is_leader()) return Failed(Status::NotLeader("not leader"));
  Result<std::string> path = store_->Backup(StoreFormat(request.format), request.vacuum, request.tables);
  if (!path.ok()) return Failed(path.status());
  std::error_code error;
  const uint64_t size = std::filesystem::file_size(*path, error);
  if (error) {
    RemoveQuietly(*path);
    return Failed(Status::IOError("backup: " + error.message()));
  }
  std::lock_guard lock(mutex_);
  ExpireIdle();
  // Unguessable, so one client cannot read another's backup by token alone
  // (each call is also checked for the backup permission).
  std::random_device entropy;
  const std::string token = std::to_string(++next_token_) + "-" + std::to_string(entropy()) + std::to_string(entropy());
  File& file = files_[token];
  file = File{*path, size, std::chrono::steady_clock::now()};
  return Chunk(token, &file, 0);
}

cluster::BackupResponse BackupServer::Continue(const cluster::BackupRequest& request) {
  std::lock_guard lock(mutex_);
  ExpireIdle();
  auto it = files_.find(request.token);
  if (it == files_.end()) return Failed(Status::NotFound("backup expired or unknown; start again"));
  if (request.offset > it->second.size) return Failed(Status::InvalidArgument("backup offset past the end"));
  return Chunk(request.token, &it->second, request.offset);
}

cluster::BackupResponse BackupServer::Chunk(const std::string& token, File* file, uint64_t offset) {
  cluster::BackupResponse response;
  response.token = token;
  response.total_bytes = file->size;
  const uint64_t length = std::min<uint64_t>(kChunkBytes, file->size - offset);
  response.chunk.resize(length);
  std::ifstream in(file->path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  if (length > 0 && !in.read(response.chunk.data(), static_cast<std::streamsize>(length))) {
    return Failed(Status::IOError("backup: cannot read " + file->path));
  }
  file->last_used = std::chrono::steady_clock::now();
  if (offset + length == file->size) {
    RemoveQuietly(file->path);
    files_.erase(token);
  }
  return response;
}

void BackupServer::ExpireIdle() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = files_.begin(); it != files_.end();) {
    if (now - it->second.last_used < kIdleExpiry) {
      ++it;
      continue;
    }
    RQ_LOG_INFO("backup {}: no call for {} s; deleting it", it->first, kIdleExpiry.count());
    RemoveQuietly(it->second.path);
    it = files_.erase(it);
  }
}

}  // namespace rq::store
