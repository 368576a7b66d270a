// Go rqlite's snapshots: their meta.json (hashicorp/raft SnapshotMeta as
// JSON) and reading the SQLite image out of each store's data file.
//
// Format facts: meta.json is {"Version","ID","Index","Term","Peers",
// "Configuration":{"Servers":[{"Suffrage":0,"ID","Address"}]},
// "ConfigurationIndex","Size"} (hashicorp FileSnapshotStore adds "CRC").
// Data files: v8-v9.4 `rsnapshots/<id>.db` (a plain SQLite file); v9.5+
// `rsnapshots/<id>/data.db` (full, SQLite) or `<id>/data.wal` (incremental
// SQLite WAL on top of the previous full one); v7 `snapshots/<id>/state.bin`
// = 16 header bytes then a gzip stream of the SQLite file (rqlite's own
// v7 upgrader skips exactly 16). v5/v6 state.bin: an 8-byte little-endian
// length, then the raw SQLite file (inferred, see ReadGoSnapshotDatabase).
//
// Thread-safety: stateless functions and values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
  kV8Database,         // v8-v9.4: rsnapshots/<id>.db
  kV9Full,             // v9.5+: rsnapshots/<id>/data.db
  kV9Incremental,      // v9.5+: rsnapshots/<id>/data.wal
};
const char* GoSnapshotFormatName(GoSnapshotFormat format);

struct GoSnapshot {
  GoSnapshotMeta meta;
  GoSnapshotFormat format = GoSnapshotFormat::kV8Database;
  std::string meta_path;
  std::string data_path;  // empty when the data file is missing
};

// `path` names the file in errors.
Result<GoSnapshotMeta> ParseGoSnapshotMeta(std::string_view json, std::string_view path);

// "SQLite format 3\0" at the start.
bool LooksLikeSqlite(std::string_view bytes);

// The SQLite image a full snapshot holds (kFileStoreStateBin, kV8Database,
// kV9Full). Corruption naming the file when it is not an SQLite image;
// NotSupported for incremental snapshots (a WAL, not a database).
Result<std::string> ReadGoSnapshotDatabase(env::FileSystem& fs, const GoSnapshot& snapshot);

}  // namespace rq::upgrade
