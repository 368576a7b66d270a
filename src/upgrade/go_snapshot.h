// Go rqlite's snapshots: their meta.json (hashicorp/raft SnapshotMeta as
// JSON) and reading the SQLite image out of each store's data file.
//
// Format facts: meta.json is {"Version","ID","Index","Term","Peers",
// "Configuration":{"Servers":[{"Suffrage":0,"ID","Address"}]},
// "ConfigurationIndex","Size"} (hashicorp FileSnapshotStore adds "CRC").
// IDs are <term>-<index>-<unix ms>[-<generation>]. Data files: v8-v9
// `rsnapshots/<id>.db` (a plain SQLite file), with `<id>.db-wal` beside it
// when Go stopped between writing an incremental snapshot and folding it
// into the previous database; v10 `wsnapshots/<id>/data.db` (full) and
// `*.wal` files (SQLite WALs: in a full snapshot after data.db, alone in an
// incremental one, replayed in name order on the previous snapshot's
// database), each beside a `<file>.crc32` sidecar (CRC32C as 8 hex digits,
// or JSON {"crc","type":"castagnoli","disabled"}); v7
// `snapshots/<id>/state.bin` = 16 header bytes then a gzip stream of the
// SQLite file (rqlite's own v7 upgrader skips exactly 16). v5/v6 state.bin:
// an 8-byte little-endian length, then the raw SQLite file (inferred, see
// ReadGoSnapshotDatabase).
//
// Thread-safety: stateless functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/file_system.h"
#include "upgrade/go_raft_log.h"

namespace rq::upgrade {

struct GoSnapshotMeta {
  int64_t version = 0;
  std::string id;
  uint64_t index = 0;
  uint64_t term = 0;
  GoConfiguration configuration;
  uint64_t configuration_index = 0;
  int64_t size = 0;
};

enum class GoSnapshotFormat : uint8_t {
  kFileStoreStateBin,  // v5-v7: snapshots/<id>/state.bin
  kV8Database,         // v8-v9: rsnapshots/<id>.db (+ <id>.db-wal)
  kV10Full,            // v10: wsnapshots/<id>/data.db (+ *.wal)
  kV10Incremental,     // v10: wsnapshots/<id>/*.wal only
};
const char* GoSnapshotFormatName(GoSnapshotFormat format);

struct GoSnapshot {
  GoSnapshotMeta meta;
  GoSnapshotFormat format = GoSnapshotFormat::kV8Database;
  std::string meta_path;
  std::string data_path;               // the full image; empty when it has none
  std::vector<std::string> wal_paths;  // replayed onto the image, in order
};

// Store order: term, then index, then the ID's milliseconds and generation.
bool GoSnapshotBefore(const GoSnapshot& a, const GoSnapshot& b);

// `path` names the file in errors.
Result<GoSnapshotMeta> ParseGoSnapshotMeta(std::string_view json, std::string_view path);

// "SQLite format 3\0" at the start.
bool LooksLikeSqlite(std::string_view bytes);

// The SQLite image a snapshot's data_path holds (state.bin unwrapped).
// NotFound when it has none (an incremental one); Corruption naming the
// file when it is not an SQLite image or fails its CRC sidecar.
Result<std::string> ReadGoSnapshotDatabase(env::FileSystem& fs, const GoSnapshot& snapshot);

// Checks `bytes` (the content of `path`) against `path`.crc32 when there
// is one: Corruption naming the file on a mismatch or a sidecar we cannot
// read; OK when there is none or it says checksums are disabled.
Status CheckGoCrcSidecar(env::FileSystem& fs, const std::string& path, std::string_view bytes);

}  // namespace rq::upgrade
