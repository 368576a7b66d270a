// BuildGoSnapshotImage: a full image, then each WAL checkpointed into it by
// SQLite itself, after our own check of the WAL.
#include "upgrade/snapshot_image.h"

#include <sqlite3.h>

#include <string>
#include <utility>

#include "upgrade/sqlite_wal.h"

namespace rq::upgrade {

namespace {

constexpr size_t kSqliteHeaderSize = 100;

// The database header's page size (offset 16, big-endian; 1 means 65536).
uint32_t PageSizeOf(std::string_view image) {
  const uint32_t raw = static_cast<uint32_t>(static_cast<uint8_t>(image[16])) << 8 |
                       static_cast<uint32_t>(static_cast<uint8_t>(image[17]));
  return raw == 1 ? 65536 : raw;
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(0, slash);
}

// Opens db_path with its -wal holding `frames` checked frames of
// `wal_name`, checkpoints them all into the database file (synced) and
// empties the -wal.
Status CheckpointInto(const std::string& db_path, uint64_t frames, const std::string& wal_name) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::string problem;
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  // FULL reports the WAL's frames and how many it copied; TRUNCATE (after)
  // reports zeros once it has reset the WAL.
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(FULL)", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) {
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const int64_t busy = sqlite3_column_int64(stmt, 0);
      const int64_t log = sqlite3_column_int64(stmt, 1);
      const int64_t done = sqlite3_column_int64(stmt, 2);
      if (busy != 0 || log != static_cast<int64_t>(frames) || done != static_cast<int64_t>(frames)) {
        problem = "SQLite saw " + std::to_string(log) + " and checkpointed " + std::to_string(done) + " of its " +
                  std::to_string(frames) + " frames" + (busy != 0 ? " (busy)" : "");
      }
    } else {
      problem = sqlite3_errmsg(db);
    }
  }
  if (rc != SQLITE_OK && problem.empty()) problem = db == nullptr ? "cannot open" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  if (problem.empty() && sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) != SQLITE_OK) {
    problem = sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  if (!problem.empty()) return Status::Corruption("replaying " + wal_name + " onto the snapshot database: " + problem);
  return Status::OK();
}

void RemoveSqliteSidecars(env::FileSystem& fs, const std::string& db_path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs.FileExists(db_path + suffix)) (void)fs.DeleteFile(db_path + suffix);
  }
}

}  // namespace

Result<GoSnapshotImage> BuildGoSnapshotImage(env::FileSystem& fs, const std::vector<GoSnapshot>& snapshots,
                                             const std::string& out_path) {
  if (snapshots.empty()) return Status::InvalidArgument("no snapshot to build a database from");
  const GoSnapshot& latest = snapshots.back();
  size_t base = snapshots.size();
  for (size_t i = snapshots.size(); i-- > 0;) {
    if (!snapshots[i].data_path.empty()) {
      base = i;
      break;
    }
  }
  if (base == snapshots.size()) {
    return Status::Corruption("snapshot " + DirOf(latest.meta_path) +
                              " holds only WALs, and no snapshot before it holds a database to replay them onto");
  }
  for (size_t i = base; i < snapshots.size(); ++i) {
    if (snapshots[i].data_path.empty() && snapshots[i].wal_paths.empty()) {
      return Status::Corruption("snapshot " + DirOf(snapshots[i].meta_path) + " holds neither a database nor a WAL");
    }
  }
  GoSnapshotImage out;
  out.base_id = snapshots[base].meta.id;
  Result<std::string> image = ReadGoSnapshotDatabase(fs, snapshots[base]);
  if (!image.ok()) return image.status();
  if (image->size() < kSqliteHeaderSize) {
    return Status::Corruption("snapshot " + snapshots[base].data_path + ": shorter than an SQLite header");
  }
  const uint32_t page_size = PageSizeOf(*image);
  bool any_wal = false;
  for (size_t i = base; i < snapshots.size(); ++i) any_wal |= !snapshots[i].wal_paths.empty();
  if (any_wal) {
    // WAL mode in the header (read and write versions 2), so SQLite reads
    // the -wal; Go rqlite's images already say so.
    (*image)[18] = 2;
    (*image)[19] = 2;
  }
  RemoveSqliteSidecars(fs, out_path);
  RQ_RETURN_IF_ERROR(fs.WriteFileAtomic(out_path, *image));
  image->clear();
  image->shrink_to_fit();

  for (size_t i = base; i < snapshots.size(); ++i) {
    for (const std::string& wal_path : snapshots[i].wal_paths) {
      Result<std::string> wal = fs.ReadFile(wal_path);
      if (!wal.ok()) return wal.status().WithContext("snapshot WAL");
      RQ_RETURN_IF_ERROR(CheckGoCrcSidecar(fs, wal_path, *wal));
      Result<SqliteWalSummary> summary = CheckSqliteWal(*wal, wal_path);
      if (!summary.ok()) return summary.status();
      ++out.wal_files;
      if (summary->frames == 0) continue;
      if (summary->page_size != page_size) {
        return Status::Corruption("WAL " + wal_path + ": page size " + std::to_string(summary->page_size) +
                                  ", but the database it applies to has " + std::to_string(page_size));
      }
      RQ_RETURN_IF_ERROR(fs.WriteFileAtomic(out_path + "-wal", *wal));
      RQ_RETURN_IF_ERROR(CheckpointInto(out_path, summary->frames, wal_path));
      out.frames += summary->frames;
    }
  }
  RemoveSqliteSidecars(fs, out_path);
  RQ_RETURN_IF_ERROR(fs.SyncDir(DirOf(out_path)));
  return out;
}

}  // namespace rq::upgrade
