// BackupServer: the leader's side of GET /db/backup sent to a follower
// (cluster BACKUP RPC). It makes the backup file once per request and hands
// it out by token and offset, in chunks small enough for one frame, on a
// worker of its own so neither the transport's I/O threads nor the store
// wait on the disk.
//
// Files are deleted after their last chunk, 60 s after their last use, or
// when the server is destroyed.
// Thread-safety: Serve is safe from any thread; `done` runs on the worker.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "cluster/service.h"
#include "store/read_pool.h"

namespace rq::store {

class Store;

class BackupServer {
 public:
  static constexpr size_t kChunkBytes = size_t{4} << 20;
  static constexpr std::chrono::seconds kIdleExpiry{60};

  explicit BackupServer(Store* store);
  ~BackupServer();
  BackupServer(const BackupServer&) = delete;
  BackupServer& operator=(const BackupServer&) = delete;

  void Serve(const cluster::BackupRequest& request, std::function<void(cluster::BackupResponse)> done);

 private:
  struct File {
    std::string path;
    uint64_t size = 0;
    std::chrono::steady_clock::time_point last_used;
  };
  cluster::BackupResponse Start(const cluster::BackupRequest& request);
  cluster::BackupResponse Continue(const cluster::BackupRequest& request);
  cluster::BackupResponse Chunk(const std::string& token, File* file, uint64_t offset);
  void ExpireIdle();  // REQUIRES: mutex_ held

  Store* store_;
  std::mutex mutex_;
  std::map<std::string, File> files_;  // GUARDED_BY(mutex_)
  uint64_t next_token_ = 0;            // GUARDED_BY(mutex_)
  ReadPool worker_{1, 1, 64};          // last: stopped first, while the rest exists
};

}  // namespace rq::store
