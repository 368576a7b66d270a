// InspectDataDir: classify top-level names, then list the Go snapshot store.
#include "upgrade/layout.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace rq::upgrade {

namespace {

bool IsDir(env::FileSystem& fs, const std::string& path) { return fs.ListDir(path).ok(); }

bool StartsWith(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }
bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names both programs write: SQLite's files, and raft/peers.{json,info}.
bool IsSharedTopLevel(const std::string& name) {
  return name == "db.sqlite" || name == "db.sqlite-wal" || name == "db.sqlite-shm" || name == "db.sqlite-journal";
}

// What raft/ holds: ours (log, snapshot records, intents), shared (peers.*)
// or unknown.
void ClassifyRaftDir(env::FileSystem& fs, const std::string& dir, DataDirInspection* out) {
  Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    const std::string rel = "raft/" + name;
    if (name == "peers.json" || name == "peers.info") {
      if (name == "peers.json") out->has_peers_json = true;
      continue;  // both programs: a manual recovery file
    }
    if (name == "log" || name == "snapshot.meta" || name == "checkpoint.intent" || name == "maintenance" ||
        StartsWith(name, "install-") || StartsWith(name, "incoming-") || EndsWith(name, ".tmp") ||
        EndsWith(name, ".part")) {
      out->our_files.push_back(rel);
    } else {
      out->unknown_files.push_back(rel);
    }
  }
}

// Reads up to 32 bytes of a state.bin to tell v7 (gzip after 16 bytes)
// from v5/v6 (raw database after an 8-byte length).
std::string StateBinFlavour(env::FileSystem& fs, const std::string& path) {
  Result<std::unique_ptr<env::RandomAccessFile>> file = fs.NewRandomAccessFile(path);
  std::string head;
  if (!file.ok() || !(*file)->Read(0, 32, &head).ok()) return "";
  if (head.size() > 18 && static_cast<uint8_t>(head[16]) == 0x1f && static_cast<uint8_t>(head[17]) == 0x8b) {
    return "v7";
  }
  if (head.size() >= 24 && LooksLikeSqlite(std::string_view(head).substr(8))) return "v5/v6";
  return "";
}

Status ReadSnapshotMeta(env::FileSystem& fs, const std::string& meta_path, GoSnapshot* snapshot) {
  Result<std::string> text = fs.ReadFile(meta_path);
  if (!text.ok()) return text.status().WithContext("snapshot meta");
  Result<GoSnapshotMeta> meta = ParseGoSnapshotMeta(*text, meta_path);
  if (!meta.ok()) return meta.status();
  snapshot->meta = std::move(*meta);
  snapshot->meta_path = meta_path;
  return Status::OK();
}

// rsnapshots/ (v8-v9): <id>.db beside <id>/meta.json; a <id>.db-wal is an
// incremental snapshot Go had not folded into the database yet.
Status ListRsnapshots(env::FileSystem& fs, const std::string& dir, DataDirInspection* out) {
  Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  std::set<std::string> present(names->begin(), names->end());
  bool any = false;
  for (const std::string& name : present) {
    const std::string path = env::JoinPath(dir, name);
    if (EndsWith(name, ".tmp") || EndsWith(name, ".db") || EndsWith(name, ".db-wal") || name == "FULL_NEEDED" ||
        !IsDir(fs, path)) {
      continue;  // data files are found through their snapshot; leftovers are Go's business
    }
    const std::string meta_path = env::JoinPath(path, "meta.json");
    if (!fs.FileExists(meta_path)) continue;  // not a complete snapshot
    GoSnapshot snapshot;
    RQ_RETURN_IF_ERROR(ReadSnapshotMeta(fs, meta_path, &snapshot));
    snapshot.format = GoSnapshotFormat::kV8Database;
    if (present.count(name + ".db") > 0) snapshot.data_path = env::JoinPath(dir, name + ".db");
    if (present.count(name + ".db-wal") > 0) snapshot.wal_paths.push_back(env::JoinPath(dir, name + ".db-wal"));
    any = true;
    out->snapshots.push_back(std::move(snapshot));
  }
  out->dialect = GoCommandDialect::kV7Plus;
  out->go_version = any ? "rqlite v8.0-v9.4" : "rqlite v8+";
  out->go_version_detail = any ? "rsnapshots/<id>.db snapshot store" : "empty rsnapshots/ snapshot store";
  return Status::OK();
}

// wsnapshots/ (v10): <id>/meta.json with data.db and/or *.wal files.
Status ListWsnapshots(env::FileSystem& fs, const std::string& dir, DataDirInspection* out) {
  Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string path = env::JoinPath(dir, name);
    if (name == "REAP_PLAN") out->interrupted_reap = path;
    if (EndsWith(name, ".tmp") || !IsDir(fs, path)) continue;  // unfinished, or Go's markers
    const std::string meta_path = env::JoinPath(path, "meta.json");
    // Go writes meta.json before the directory gets its final name: one
    // without it is damage, and skipping it could drop an incremental
    // snapshot from the middle of a chain.
    if (!fs.FileExists(meta_path)) return Status::Corruption("snapshot directory " + path + " has no meta.json");
    GoSnapshot snapshot;
    RQ_RETURN_IF_ERROR(ReadSnapshotMeta(fs, meta_path, &snapshot));
    Result<std::vector<std::string>> files = fs.ListDir(path);
    if (!files.ok()) return files.status();
    std::sort(files->begin(), files->end());
    for (const std::string& file : *files) {
      if (file == "data.db") snapshot.data_path = env::JoinPath(path, file);
      if (EndsWith(file, ".wal")) snapshot.wal_paths.push_back(env::JoinPath(path, file));
    }
    snapshot.format = snapshot.data_path.empty() ? GoSnapshotFormat::kV10Incremental : GoSnapshotFormat::kV10Full;
    out->snapshots.push_back(std::move(snapshot));
  }
  out->dialect = GoCommandDialect::kV7Plus;
  out->go_version = "rqlite v10+";
  out->go_version_detail = "wsnapshots/<id>/{data.db,*.wal} snapshot store";
  return Status::OK();
}

// snapshots/ (v5-v7): hashicorp FileSnapshotStore, <id>/{meta.json,state.bin}.
Status ListFileSnapshots(env::FileSystem& fs, const std::string& dir, DataDirInspection* out) {
  Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return names.status();
  std::string flavour;
  for (const std::string& name : *names) {
    const std::string path = env::JoinPath(dir, name);
    if (EndsWith(name, ".tmp") || !IsDir(fs, path)) continue;
    const std::string meta_path = env::JoinPath(path, "meta.json");
    if (!fs.FileExists(meta_path)) continue;
    GoSnapshot snapshot;
    RQ_RETURN_IF_ERROR(ReadSnapshotMeta(fs, meta_path, &snapshot));
    snapshot.format = GoSnapshotFormat::kFileStoreStateBin;
    const std::string state = env::JoinPath(path, "state.bin");
    if (fs.FileExists(state)) {
      snapshot.data_path = state;
      if (std::string f = StateBinFlavour(fs, state); !f.empty()) flavour = f;
    }
    out->snapshots.push_back(std::move(snapshot));
  }
  out->go_version = flavour.empty() ? "rqlite v5-v7" : "rqlite " + flavour;
  if (!flavour.empty()) out->dialect = flavour == "v7" ? GoCommandDialect::kV7Plus : GoCommandDialect::kV5V6;
  out->go_version_detail = "snapshots/<id>/state.bin snapshot store (hashicorp FileSnapshotStore)";
  return Status::OK();
}

}  // namespace

const char* DataDirKindName(DataDirKind kind) {
  switch (kind) {
    case DataDirKind::kEmpty: return "empty";
    case DataDirKind::kOurs: return "ours";
    case DataDirKind::kGo: return "Go rqlite";
    case DataDirKind::kMixed: return "mixed (Go rqlite and ours)";
    case DataDirKind::kUnknown: return "unknown";
  }
  return "?";
}

std::string DataDirInspection::Describe() const {
  std::string out = std::string(DataDirKindName(kind)) + " data directory";
  if (!go_version.empty()) out += " written by " + go_version + " (" + go_version_detail + ")";
  if (const GoSnapshot* s = latest_snapshot()) {
    out += "; latest snapshot " + s->meta.id + " at index " + std::to_string(s->meta.index) + " term " +
           std::to_string(s->meta.term) + " (" + GoSnapshotFormatName(s->format) + ")";
  }
  auto list = [&](std::string_view label, const std::vector<std::string>& names) {
    if (names.empty()) return;
    out += "; " + std::string(label) + ":";
    for (const std::string& n : names) out += " " + n;
  };
  if (kind == DataDirKind::kMixed) {
    list("Go rqlite files", go_files);
    list("our files", our_files);
  }
  list("unknown files", unknown_files);
  return out;
}

Result<DataDirInspection> InspectDataDir(env::FileSystem& fs, const std::string& dir) {
  DataDirInspection out;
  Result<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return out;  // nothing there yet
    return names.status().WithContext("inspecting data directory");
  }
  std::sort(names->begin(), names->end());
  bool raft_db = false, shared_db = false;
  std::vector<std::string> go_dirs;
  for (const std::string& name : *names) {
    const std::string path = env::JoinPath(dir, name);
    if (IsSharedTopLevel(name)) {
      shared_db = true;
    } else if (name == "raft.db") {
      raft_db = true;
      out.go_files.push_back(name);
    } else if ((name == "rsnapshots" || name == "snapshots" || name == "wsnapshots") && IsDir(fs, path)) {
      go_dirs.push_back(name);
      out.go_files.push_back(name + "/");
    } else if (name == "clean_snapshot" || (name == "wal-staging" && IsDir(fs, path))) {
      // v9+: the fingerprint of db.sqlite at the last snapshot; v10: where
      // an incremental snapshot's WAL is staged. Neither is needed: the
      // snapshot store and the log say everything.
      out.go_files.push_back(IsDir(fs, path) ? name + "/" : name);
    } else if (name == "raft" && IsDir(fs, path)) {
      ClassifyRaftDir(fs, path, &out);
    } else if ((name == "tmp" || name == "extensions") && IsDir(fs, path)) {
      out.our_files.push_back(name + "/");
    } else if (name == "cdc" && IsDir(fs, path) && fs.FileExists(env::JoinPath(path, "queue.db"))) {
      out.our_files.push_back(name + "/");  // -cdc-config's queue (cdc/queue.h)
    } else if ((name == "cdc" && IsDir(fs, path) && fs.FileExists(env::JoinPath(path, "fifo.db"))) ||
               name == "fifo.db") {
      // Go rqlite 9's CDC queue (BoltDB; 9.0 kept it at the top): its events
      // are Go's, so it goes aside with the rest of Go's files.
      out.go_files.push_back(name == "cdc" ? "cdc/" : name);
    } else if (StartsWith(name, "go-rqlite") && IsDir(fs, path)) {
      // The originals an earlier upgrade moved aside (node/upgrade_dir.h): kept
      // for going back, never read, and no reason to refuse either layout.
      out.set_aside.push_back(name + "/");
    } else {
      out.unknown_files.push_back(name);
    }
  }
  // v10's upgrader removes the older store once wsnapshots/ exists; one
  // left beside it (a crash in between) is stale, as Go treats it.
  if (std::find(go_dirs.begin(), go_dirs.end(), "wsnapshots") != go_dirs.end()) go_dirs = {"wsnapshots"};
  for (const std::string& name : go_dirs) {
    const std::string path = env::JoinPath(dir, name);
    RQ_RETURN_IF_ERROR(name == "rsnapshots"   ? ListRsnapshots(fs, path, &out)
                       : name == "wsnapshots" ? ListWsnapshots(fs, path, &out)
                                              : ListFileSnapshots(fs, path, &out));
  }
  if (go_dirs.size() > 1) {
    out.go_version += " (also holds an older snapshot store)";
  } else if (raft_db && go_dirs.empty()) {
    out.go_version = "rqlite v5-v8";
    out.go_version_detail = "raft.db without a snapshot store directory";
  }
  std::sort(out.snapshots.begin(), out.snapshots.end(), GoSnapshotBefore);

  // Our Raft state settles it: a stray file beside it (a user's copy, a
  // temporary name a later release adds) must never stop a node of ours.
  const bool our_raft_state =
      std::find_if(out.our_files.begin(), out.our_files.end(), [](const std::string& f) {
        return f == "raft/log" || f == "raft/snapshot.meta";
      }) != out.our_files.end();
  if (!out.go_files.empty() && !out.our_files.empty()) {
    out.kind = DataDirKind::kMixed;
  } else if (our_raft_state) {
    out.kind = DataDirKind::kOurs;
  } else if (!out.unknown_files.empty()) {
    out.kind = DataDirKind::kUnknown;
  } else if (!out.go_files.empty()) {
    out.kind = raft_db ? DataDirKind::kGo : DataDirKind::kUnknown;
    if (!raft_db) out.unknown_files.push_back("(snapshot store without raft.db)");
  } else if (!out.our_files.empty()) {
    out.kind = DataDirKind::kOurs;
  } else if (shared_db) {
    // db.sqlite with neither raft.db nor raft/log: nobody's Raft state.
    out.kind = DataDirKind::kUnknown;
    out.unknown_files.push_back("db.sqlite (without raft.db or raft/log)");
  }
  return out;
}

}  // namespace rq::upgrade
