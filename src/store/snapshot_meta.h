// The durable record of the last snapshot, and the crash-safe checkpoint
// protocol that makes db.sqlite hold exactly the applied prefix of the log
// (DESIGN.md invariants 2 and 5). docs/snapshot_format.md describes it.
//
// Between snapshots the SQLite main file never changes (automatic
// checkpoints are off); everything since lives in db.sqlite-wal, which is
// NOT trusted after a crash (synchronous=OFF). So:
//   snapshot.meta says index I  =>  db.sqlite (main file alone) == state at I
// and a restart deletes the SQLite WAL, then replays the Raft log after I.
// Taking a snapshot at index I (apply thread, nothing else writing):
//   1. fsync db.sqlite-wal (it now holds exactly the state at I);
//   2. write checkpoint.intent = meta(I) atomically;
//   3. checkpoint(TRUNCATE) with synchronous=FULL (main file := state I);
//   4. rename checkpoint.intent over snapshot.meta.
// A crash between 2 and 4 leaves the intent: restart then KEEPS the WAL (it
// was durable since step 1), lets SQLite recover it, checkpoints, and
// finishes step 4. Checkpointing twice is harmless: it copies pages.
//
// Thread-safety: functions only; the caller serialises.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "env/file_system.h"
#include "raft/types.h"
#include "store/node_directory.h"

namespace rq::store {

struct SnapshotRecord {
  raft::SnapshotMeta meta;
  AddressMap addresses;  // every member's addresses as of meta.index
  bool operator==(const SnapshotRecord&) const = default;
};

std::string EncodeSnapshotRecord(const SnapshotRecord& record);
Result<SnapshotRecord> DecodeSnapshotRecord(std::string_view data);

// Paths inside a data directory.
struct DataPaths {
  explicit DataPaths(std::string data_dir);
  std::string data_dir;
  std::string db;           // db.sqlite
  std::string raft_dir;     // raft/
  std::string log_dir;      // raft/log/
  std::string snapshot_meta;      // raft/snapshot.meta
  std::string checkpoint_intent;  // raft/checkpoint.intent
  // A received snapshot waiting to be installed: raft/install-<index>-<term>.intent
  // and its database raft/incoming-<index>-<term>.sqlite (per snapshot, so two
  // streams never share a file).
  std::string InstallIntent(const raft::SnapshotMeta& meta) const;
  std::string IncomingDb(const raft::SnapshotMeta& meta) const;
  std::string tmp_dir;      // tmp/ (backups, boot uploads)
  std::string maintenance;  // raft/maintenance (store/maintenance.h)
};

// NotFound when there is no snapshot yet.
Result<SnapshotRecord> ReadSnapshotRecord(env::FileSystem* fs, const std::string& path);
Status WriteSnapshotRecord(env::FileSystem* fs, const std::string& path, const SnapshotRecord& record);

}  // namespace rq::store
