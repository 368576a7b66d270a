// PosixFileSystem: env::FileSystem over the real disk (open/pread/write with
// O_CLOEXEC, fdatasync, fsync on directories). Retries EINTR and short
// writes; every failure is Status::IOError naming the path and errno text.
//
// Thread-safety: stateless; safe from any thread (see file_system.h for files).
#pragma once

#include "env/file_system.h"

namespace rq::env {

class PosixFileSystem final : public FileSystem {
 public:
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
};

// The process-wide real file system.
FileSystem* DefaultFileSystem();

}  // namespace rq::env
