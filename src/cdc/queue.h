// Queue: the durable FIFO of encoded CDC payload entries under
// <data-dir>/cdc/, keyed by Raft index, with the replicated high-water mark
// beside them. Every voter keeps one: only the leader sends from it, and any
// voter may lead next.
//
// A small SQLite file of its own (queue.db, WAL mode, synchronous=NORMAL:
// one fsync per Sync(), not per entry). An entry lost by a crash before Sync
// comes back: the store replays the log since its last snapshot, and
// snapshots wait for Sync. Appending an index at or below the last one kept
// (or the high-water mark) does nothing, so a replay adds each entry once.
//
// Thread-safety: every method is safe from any thread (one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

struct sqlite3;

namespace rq::cdc {

struct QueuedEntry {
  uint64_t index = 0;
  std::string json;  // cdc/encode.h EncodeEntry
};

class Queue {
 public:
  // Creates `dir` and the file when missing.
  static Result<std::unique_ptr<Queue>> Open(const std::string& dir);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // false when `index` was kept before (or is at or below the mark).
  Result<bool> Append(uint64_t index, const std::string& json);
  // Up to `max` entries after `after`, in index order.
  Result<std::vector<QueuedEntry>> ReadAfter(uint64_t after, int max);
  // Records the mark and drops every entry at or below it; a lower mark
  // than the one kept is ignored.
  Status SetHighWaterMark(uint64_t index);
  // Makes everything appended so far durable.
  Status Sync();

  uint64_t high_water_mark() const;
  uint64_t last_index() const;  // the highest index kept or marked
  uint64_t length() const;      // entries kept
  const std::string& path() const { return path_; }

 private:
  Queue(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Status Exec(const char* sql);
  Status Load();

  const std::string path_;
  mutable std::mutex mu_;
  sqlite3* db_;                // GUARDED_BY(mu_)
  uint64_t high_water_mark_ = 0;  // GUARDED_BY(mu_)
  uint64_t last_index_ = 0;       // GUARDED_BY(mu_)
  uint64_t length_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace rq::cdc
