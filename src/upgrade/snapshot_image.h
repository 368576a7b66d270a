// The SQLite database a Go rqlite snapshot stands for, built from the files
// of its store: the newest snapshot holding a full image at or before the
// latest one, then every WAL from there to the latest, in order (v10's
// incremental snapshots; a v8-v9 `<id>.db-wal` left by a crash). Each file
// is checked first (CRC sidecar, WAL structure, page size), so a damaged
// file is refused naming it instead of being skipped the way SQLite skips
// a WAL it cannot verify.
//
// Thread-safety: stateless. Works on real files: SQLite opens out_path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/file_system.h"
#include "upgrade/go_snapshot.h"

namespace rq::upgrade {

struct GoSnapshotImage {
  std::string base_id;   // the snapshot whose full image it starts from
  size_t wal_files = 0;  // WALs replayed onto it
  uint64_t frames = 0;   // their frames, all checkpointed
};

// Writes the database of snapshots.back() to out_path (synced) and removes
// SQLite's -wal/-shm beside it. `snapshots` are in store order. Never
// writes to the snapshot files.
Result<GoSnapshotImage> BuildGoSnapshotImage(env::FileSystem& fs, const std::vector<GoSnapshot>& snapshots,
                                             const std::string& out_path);

}  // namespace rq::upgrade
