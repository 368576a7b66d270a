// env::FileSystem: the file operations the storage layers need, behind a small
// interface so that tests and the simulator can swap the disk for an
// in-memory one that crashes, drops unsynced bytes and fails on demand.
//
// Implementations: PosixFileSystem (posix_file_system.h), MemFileSystem
// (mem_file_system.h). Paths are plain strings joined with '/'.
//
// Ownership: files returned by a FileSystem are owned by the caller and must
// not outlive the FileSystem.
// Thread-safety: a FileSystem may be used from several threads at once. A
// single WritableFile may see Sync() on one thread while another thread
// Append()s to it (group commit does this); other concurrent use of one file
// object needs external locking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::env {

// A file written at its end. Size() counts bytes appended, synced or not
// (for a file from NewWritableFileAt: the write position).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of data (retrying short writes) or returns IOError.
  virtual Status Append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fdatasync). It does not make the
  // file's directory entry durable: see FileSystem::SyncDir.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  virtual uint64_t Size() const = 0;
};

// A file read at arbitrary offsets (pread).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into *out (replacing its content); fewer
  // bytes only at end of file.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

enum class OpenMode : uint8_t {
  kTruncate,  // create, or empty an existing file
  kAppend,    // create, or keep the content and write after it
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                OpenMode mode) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) = 0;
  // Opens an existing file to write from offset on, keeping its content:
  // Append overwrites the bytes there and grows the file only past its end.
  // Writing into a file zero-filled and synced in advance (preallocated)
  // changes no file size, so its fdatasync needs no journal commit.
  // NotSupported unless the FileSystem implements it.
  // REQUIRES: offset <= the file's size.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFileAt(const std::string& path, uint64_t offset);
  // Whole content of a small file. NotFound when absent.
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Entry names (not paths) in dir, without "." and "..", in no fixed order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Cuts the file to size bytes and makes the new size durable before
  // returning. REQUIRES: size <= current size.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Creates dir; OK when it already exists. Parents must exist.
  virtual Status CreateDir(const std::string& dir) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Makes creations, renames and deletions inside dir durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Replaces path with data so that after a crash the file holds either the
  // old or the new content, never a mix: write path.tmp, sync it, rename it
  // over path, sync the directory.
  Status WriteFileAtomic(const std::string& path, std::string_view data);
};

// "a/b" -> "a"; "b" -> ".".
std::string DirName(const std::string& path);
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace rq::env
