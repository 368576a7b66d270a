// InspectDataDir: which program wrote a data directory, told from the files
// themselves, and where its snapshots are. Read-only: nothing is created,
// moved or opened for writing.
//
// Layouts (top-level names): Go rqlite keeps `raft.db` (hashicorp/raft-
// boltdb) beside `db.sqlite` (+ `-wal`, `-shm`), an optional `raft/`
// holding peers.json / peers.info (manual recovery), and a snapshot store:
// v5-v7 `snapshots/<term>-<index>-<ms>/{meta.json,state.bin}` (hashicorp
// FileSnapshotStore); v8-v9 `rsnapshots/<id>.db` + `rsnapshots/<id>/
// meta.json`, and v9's `clean_snapshot` fingerprint; v10 `wsnapshots/<id>/
// {meta.json,data.db,*.wal,*.crc32}` with FULL_NEEDED / REAP_PLAN markers,
// `wal-staging/` and `clean_snapshot`. Ours (docs/snapshot_format.md) keeps
// `raft/log/` and `raft/snapshot.meta`, `tmp/`, `extensions/`, and no
// raft.db; `go-rqlite*/` holds the originals an upgrade moved aside.
//
// Thread-safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/file_system.h"
#include "upgrade/go_rqlite_command.h"
#include "upgrade/go_snapshot.h"

namespace rq::upgrade {

enum class DataDirKind : uint8_t {
  kEmpty,    // nothing there (or only an empty db.sqlite-less directory)
  kOurs,     // our own formats: start normally
  kGo,       // Go rqlite's files and none of ours: convertible
  kMixed,    // both Go rqlite's and our files: refuse
  kUnknown,  // files that belong to neither: refuse, naming them
};
const char* DataDirKindName(DataDirKind kind);

struct DataDirInspection {
  DataDirKind kind = DataDirKind::kEmpty;
  // For kGo: "rqlite v8.0-v9.4", "rqlite v10+", "rqlite v5-v7" (the
  // snapshot store tells them apart; see go_version_detail).
  std::string go_version;
  std::string go_version_detail;
  // The Command.Type numbering, when the files settle it (a v8+ snapshot
  // store, or a v5-v7 state.bin); nullopt: GuessGoCommandDialect on the log.
  std::optional<GoCommandDialect> dialect;
  std::vector<std::string> go_files;       // relative paths
  std::vector<std::string> our_files;      // relative paths
  std::vector<std::string> unknown_files;  // relative paths
  std::vector<std::string> set_aside;      // go-rqlite*/: originals of an earlier upgrade
  // Complete Go snapshots, oldest first (GoSnapshotBefore).
  std::vector<GoSnapshot> snapshots;
  // wsnapshots/REAP_PLAN: Go stopped while folding incremental snapshots
  // into a full one; its store is half-way and only Go can finish it.
  std::string interrupted_reap;
  bool has_peers_json = false;  // raft/peers.json: a manual recovery is pending

  const GoSnapshot* latest_snapshot() const { return snapshots.empty() ? nullptr : &snapshots.back(); }
  // One line for the log: kind, version, snapshot, unknown names.
  std::string Describe() const;
};

// Inspects dir. Only I/O failures are errors; an unknown layout is a
// successful inspection with kind kUnknown. A snapshot whose meta.json is
// damaged is an error naming the file.
Result<DataDirInspection> InspectDataDir(env::FileSystem& fs, const std::string& dir);

}  // namespace rq::upgrade
