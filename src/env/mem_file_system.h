// MemFileSystem: an in-memory env::FileSystem for tests and the simulator
// that models what a real disk keeps after power loss (leveldb's
// fault_injection_test, TigerBeetle's simulated storage).
//
// Model:
//  - Each file has its current bytes and its durable bytes (as of the last
//    WritableFile::Sync or Truncate). Crash() resets every file to its durable
//    bytes; with a tear source set, a file keeps a random prefix of its
//    unsynced appended bytes instead (a torn last write), and a file written
//    in place (NewWritableFileAt) keeps a random prefix of its changed range
//    with the old bytes after it.
//  - Creations, renames and deletions become durable only when their
//    directory is synced (SyncDir, or WriteFileAtomic which does it).
//    Crash() reverts every name change made since.
//  - Directories themselves are durable at once (the WAL never removes one).
//  - Fault injection: FailNextWrites(n) / FailNextSyncs(n) make the next n
//    appends or syncs fail with IOError (ENOSPC, EIO) and change nothing.
//  - CrashAfterOps(k): after k more mutating operations (create, append,
//    sync, truncate, rename, delete, sync-dir) every further mutating
//    operation fails, as if the process died there; then call Crash().
//  - Files opened before a Crash() fail every later operation.
//
// Thread-safety: every method is safe to call concurrently (one mutex).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/random.h"
#include "env/file_system.h"

namespace rq::env {

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem();
  ~MemFileSystem() override;
  MemFileSystem(const MemFileSystem&) = delete;
  MemFileSystem& operator=(const MemFileSystem&) = delete;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewWritableFileAt(const std::string& path, uint64_t offset) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status DeleteFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status CreateDir(const std::string& dir) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;

  // Power loss: see the model above. Also clears CrashAfterOps.
  void Crash();
  // With a source set, Crash() tears unsynced appends. The Random must
  // outlive this object; nullptr turns tearing off. With zero_fill, a torn
  // file may also end in zeros where unsynced bytes were lost (the size
  // reached the disk, the data did not), as ext4 in writeback mode can show.
  void SetTearSource(Random* random, bool zero_fill = false);
  void FailNextWrites(int count);
  void FailNextSyncs(int count);
  // REQUIRES: ops >= 0.
  void CrashAfterOps(int64_t ops);
  // Mutating operations performed so far (successful or not).
  int64_t op_count() const;
  // Bytes of path that would survive a Crash() without tearing.
  Result<std::string> TEST_DurableContent(const std::string& path) const;
  // Overwrites bytes in place, current and durable alike (bit rot).
  Status TEST_Corrupt(const std::string& path, uint64_t offset, std::string_view bytes);

 private:
  struct File;
  class Writable;
  class Readable;

  // REQUIRES: mu_ held. Consumes one mutating operation; IOError once the
  // injected crash point has passed.
  Status CountOp(const std::string& what);
  Status CheckGeneration(uint64_t generation) const;
  std::shared_ptr<File> Lookup(const std::string& path) const;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<File>> files_;          // current names
  std::map<std::string, std::shared_ptr<File>> durable_files_;  // names as of last dir syncs
  std::set<std::string> dirs_;
  Random* tear_ = nullptr;
  bool zero_fill_ = false;
  int fail_writes_ = 0;
  int fail_syncs_ = 0;
  int64_t ops_ = 0;
  int64_t crash_at_op_ = -1;  // -1: never
  uint64_t generation_ = 0;   // bumped by Crash(); stale handles fail
};

}  // namespace rq::env
