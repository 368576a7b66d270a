// wal::Wal: the durable Raft log. Records (index, term, type, payload) live
// in segment files in one directory; the hard state and the log meta live in
// two small side files. The WAL knows no Raft rules: it keeps what it is
// given, contiguous by index, and tells which prefix is durable.
//
// Memory holds only an index (index -> segment, offset, term); payloads are
// read back with pread, because one payload may be a whole database image.
//
// Crash safety (docs/wal_format.md): Sync() makes every appended record
// durable; CompactPrefix, Reset, suffix truncation and SaveHardState are
// durable when they return OK, and a crash at any point inside them leaves a
// log that reopens to the old or the new state. Open() truncates a torn tail
// of the last segment and refuses (Corruption) any other damage.
//
// After any I/O error the Wal is broken: every later call returns that error
// and the owner must reopen it (recovery then decides what survived).
//
// Ownership: the FileSystem must outlive the Wal.
// Thread-safety: none; one thread (the store's raft loop) uses it, or
// GroupCommitLog (group_commit_log.h) serializes access. With
// Preallocation::kBackground the Wal owns one more thread, which only ever
// touches the spare file (spare_file.h).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "env/file_system.h"
#include "wal/segment.h"
#include "wal/spare_file.h"
#include "wal/state_files.h"

namespace rq::wal {

// How segment files get their space (docs/wal_format.md, "Preallocation").
enum class Preallocation : uint8_t {
  // Each segment grows as records are appended: every fdatasync also commits
  // the new file size through the file system journal.
  kOff,
  // A thread zero-fills and syncs the next segment's file ahead of time, so
  // that appends overwrite existing blocks. When no spare is ready at a
  // rollover the log does not wait: it falls back to a growing segment, and
  // moves to the spare at the first append after it is ready.
  kBackground,
  // The same, but the spare is prepared on the caller's thread whenever one
  // is needed (at open and after each rollover): deterministic, for tests.
  kInline,
};

struct Options {
  // A new segment starts once the current one would grow past this.
  uint64_t segment_bytes_max = 64ull << 20;
  // Off by default because a spare costs segment_bytes_max of disk (and of
  // memory on a MemFileSystem); the store turns it on.
  Preallocation preallocation = Preallocation::kOff;
  // The most recently appended records are kept in memory up to this many
  // payload bytes, so that replicating fresh entries costs no pread. 0: off.
  uint64_t read_cache_bytes_max = 4ull << 20;
  Status Validate() const;
};

// What Open() found and repaired.
struct RecoveryReport {
  uint64_t segments = 0;              // live segments after recovery
  uint64_t records = 0;               // records after recovery
  uint64_t tail_bytes_dropped = 0;    // torn tail cut (or zeroed) in the last segment
  std::string tail_damage;            // why, when tail_bytes_dropped > 0
  uint64_t segments_deleted = 0;      // stale, compacted or torn-empty segments removed
};

// Files a sync must flush; see PrepareSync.
struct SyncPlan {
  std::shared_ptr<env::WritableFile> file;  // may be null: nothing unsynced
  bool sync_dir = false;
  LogIndex target;             // last index covered
  uint64_t truncations = 0;    // suffix truncations seen when planned
};

class Wal {
 public:
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Opens or creates the log in dir, recovering what is there.
  static Result<std::unique_ptr<Wal>> Open(env::FileSystem* fs, std::string dir, Options options);

  // 0/0 for a log that never held anything; first = f, last = f - 1 when all
  // entries below f were compacted or reset away.
  LogIndex first_index() const;
  LogIndex last_index() const;
  // Every record <= durable_index() survives a crash.
  LogIndex durable_index() const { return durable_; }

  // Term of a stored record, or of first_index() - 1 when known (the
  // compaction point or the snapshot given to Reset). NotFound otherwise.
  Result<Term> term_at(LogIndex index) const;
  // Records [low, high), stopping before max_bytes of payload but always
  // returning at least one. NotFound when low < first_index();
  // InvalidArgument when the range is empty or past last_index().
  // Every record is CRC-checked again: nothing corrupt is returned.
  Result<std::vector<Record>> Read(LogIndex low, LogIndex high, uint64_t max_bytes) const;

  // Appends contiguous records. When records[0].index <= last_index(), the
  // stored suffix from that index is removed first (Raft conflict
  // truncation), durably. REQUIRES nothing of durability: call Sync().
  // InvalidArgument for a gap, a compacted index or non-contiguous input.
  Status Append(const std::vector<Record>& records);
  // One fdatasync (plus a directory sync after new segments) covering
  // everything appended so far.
  Status Sync();

  // Entries <= through are no longer needed. Whole segments below go; a
  // segment that also holds later entries stays. first_index() becomes
  // through + 1. When nothing is left, last_index() becomes through.
  Status CompactPrefix(LogIndex through);
  // Drops everything; the next append starts at snapshot_index + 1 and
  // term_at(snapshot_index) is snapshot_term.
  Status Reset(LogIndex snapshot_index, Term snapshot_term);

  Status SaveHardState(const HardState& state);
  std::optional<HardState> hard_state() const { return hard_state_; }

  const RecoveryReport& recovery_report() const { return report_; }
  // Blocks until no spare preparation is pending or running; true when a
  // spare is ready. The log itself never waits (benchmarks and tests do).
  bool TEST_WaitForSpare();
  const std::string& dir() const { return dir_; }
  env::FileSystem* fs() const { return fs_; }

  // Sync in three steps so that GroupCommitLog can run the fdatasync
  // without holding its lock: PrepareSync and CompleteSync need exclusive
  // access; ExecuteSync needs none and may run while others Append.
  SyncPlan PrepareSync();
  static Status ExecuteSync(env::FileSystem* fs, const std::string& dir, const SyncPlan& plan);
  void CompleteSync(const SyncPlan& plan, const Status& status);

 private:
  struct Segment;

  Wal(env::FileSystem* fs, std::string dir, Options options);

  Status Recover();
  Status LoadSideFiles();
  Status RecoverSegments(std::vector<std::pair<LogIndex, std::string>> names);
  Result<bool> IsTornCreation(const Segment& segment, uint64_t file_bytes) const;
  Status AdoptScan(std::unique_ptr<Segment> segment, const SegmentScan& scan, bool is_last);
  Status ApplyFloor();
  Status OpenActiveWriter();

  bool empty() const { return segments_.empty(); }
  Status ValidateAppend(const std::vector<Record>& records) const;
  Status WriteRecords(const std::vector<Record>& records);
  Status StartSegment(LogIndex first_index);
  Status CreateSegmentFile(Segment* segment);
  Status AdoptSpare(const std::string& spare_path, Segment* segment);
  Status ZeroRange(const std::string& path, uint64_t from, uint64_t to);
  bool ShouldMoveToSpare() const;
  // Asks for the next segment's spare once the active segment is half full
  // (or grows, or there is none yet): an idle log keeps one preallocated
  // file, not two, and the spare is still ready long before the rollover.
  void MaybeRequestSpare();
  Status TruncateSuffix(LogIndex index);
  Status WriteMeta(const LogMeta& meta);
  Status DeleteSegment(const Segment& segment);
  const Segment* FindSegment(LogIndex index) const;
  Result<Record> ReadOne(const Segment& segment, LogIndex index) const;
  Status Broken(Status status);
  void CacheAppended(const std::vector<Record>& records);
  void UncacheFrom(LogIndex index);
  void UncacheThrough(LogIndex index);
  const Record* Cached(LogIndex index) const;

  env::FileSystem* const fs_;
  const std::string dir_;
  const Options options_;

  std::vector<std::unique_ptr<Segment>> segments_;  // by first index, contiguous, each non-empty
  LogMeta meta_;            // as stored in wal.meta
  LogIndex floor_;          // first_index() when the log is empty; compaction point + 1
  Term floor_term_;         // term of floor_ - 1, 0 if unknown
  LogIndex durable_;
  std::optional<HardState> hard_state_;
  bool dir_dirty_ = false;  // segment files created since the last directory sync
  uint64_t truncations_ = 0;
  Status broken_;
  RecoveryReport report_;
  std::deque<Record> cache_;  // a contiguous suffix of the log
  uint64_t cache_bytes_ = 0;
  std::unique_ptr<SpareFile> spare_;  // null unless preallocating
  // The active segment (its first index; 0: none) a spare was last asked
  // for by MaybeRequestSpare, which asks once per segment.
  std::optional<LogIndex> spare_asked_for_;
};

}  // namespace rq::wal
