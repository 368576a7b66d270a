// wal::SpareFile: keeps one zero-filled, synced file ("prealloc.spare") of a
// fixed size ready in the WAL directory, so that the next segment can be
// made by writing its header into the spare and renaming it. Records then
// overwrite blocks that already exist, and the file size never changes on
// append: a segment's fdatasync flushes data only, with no journal commit
// for a size or block-allocation change (docs/wal_format.md, "Preallocation").
//
// Zero-filling runs off the append path: on a thread of its own (background
// mode) or, for deterministic tests, on the caller's thread inside Request()
// (inline mode). A spare left by an earlier run is reused when it has the
// right size and holds only zeros, else replaced.
//
// Ownership: the FileSystem must outlive the SpareFile; the destructor stops
// and joins the thread (a half-filled spare is replaced at the next open).
// Thread-safety: every method may be called from any thread; the Wal calls
// them from its own thread while the preparer thread fills the file.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/status.h"
#include "env/file_system.h"

namespace rq::wal {

class SpareFile {
 public:
  // bytes: the size of a spare (the segment size limit).
  SpareFile(env::FileSystem* fs, const std::string& dir, uint64_t bytes, bool background);
  ~SpareFile();
  SpareFile(const SpareFile&) = delete;
  SpareFile& operator=(const SpareFile&) = delete;

  // Asks for a spare to be made ready (no-op while one is ready or being
  // prepared). Inline mode prepares it before returning.
  void Request();
  // Hands a ready spare over to the caller (who renames it away, then calls
  // Request for the next one); nullopt when none is ready.
  std::optional<std::string> Take();
  bool ready() const;
  const std::string& path() const { return path_; }
  uint64_t bytes() const { return bytes_; }

  // Blocks until no preparation is pending or running (tests, benchmarks).
  void WaitIdle();

 private:
  void Run();
  // Reuses a good leftover spare or writes a new one. REQUIRES: mu_ not held.
  Status Prepare();
  Result<bool> LeftoverIsUsable();
  Status WriteZeros();
  bool stopping() const;
  // Background mode: sleeps between chunks. False once stopping.
  bool PauseUnlessStopping();

  env::FileSystem* const fs_;
  const std::string dir_;
  const std::string path_;
  const uint64_t bytes_;
  const bool background_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // GUARDED_BY(mu_): a spare was requested
  bool running_ = false;  // GUARDED_BY(mu_): Prepare is in progress
  bool ready_ = false;    // GUARDED_BY(mu_): path_ holds a finished spare
  bool stop_ = false;     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace rq::wal
