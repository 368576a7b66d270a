// Store's whole-database operations: /db/load of an image or a dump (replicated
// as one entry), /boot (single node, bypassing the log) and /db/backup.
#include "store/store.h"

#include <algorithm>
#include <fstream>
#include <future>

#include "store/store_metrics.h"

namespace rq::store {
namespace {

// store.num_loads counts the loads that were applied.
Done CountingLoads(Done done) {
  return [done = std::move(done)](Result<command::Response> result) {
    const bool applied = result.ok() && result->error.empty() &&
                         std::all_of(result->results.begin(), result->results.end(),
                                     [](const command::StatementResult& r) { return r.error.empty(); });
    if (applied) StoreCounters().num_loads.Add();
    done(std::move(result));
  };
}

}  // namespace

void Store::Load(std::string image, Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // Validate the whole image on a temporary copy before it can replace
  // anything (API.md "Our decisions" 6).
  std::string path = env::JoinPath(paths_.tmp_dir, "load-" + [this] {
    std::lock_guard lock(random_mutex_);
    return std::to_string(random_.Next());
  }() + ".sqlite");
  Status written = fs_->WriteFileAtomic(path, image);
  Status valid = written.ok() ? db::Database::ValidateImage(path) : written;
  (void)fs_->DeleteFile(path);
  if (!valid.ok()) {
    done(valid);
    return;
  }
  command::Command command;
  command.type = command::CommandType::kLoad;
  command.payload = std::move(image);
  Propose(std::move(command), CountingLoads(std::move(done)));
}

void Store::LoadDump(std::string sql, Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // A LOAD entry carries either a SQLite image or a SQL dump, told apart by
  // the SQLite magic exactly as /db/load tells its bodies apart. The dump
  // holds literal values already, so it is not rewritten.
  command::Command command;
  command.type = command::CommandType::kLoad;
  command.payload = std::move(sql);
  Propose(std::move(command), CountingLoads(std::move(done)));
}

Status Store::Boot(const std::string& image_path) {
  // The data first: a client that sent garbage is told so (400) on any
  // node, not that this node cannot boot (503).
  RQ_RETURN_IF_ERROR(db::Database::ValidateImage(image_path));
  const raft::Membership& members = raft_node_->state().membership;
  if (members.voters.size() + members.learners.size() > 1) {
    return Status::NotSupported("boot is only supported on a single-node cluster");
  }
  if (!raft_node_->is_leader()) return Status::Unavailable("node is not the leader");
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(BootTask{image_path, [promise](Status s) { promise->set_value(s); }});
  }
  apply_wake_.notify_one();
  return future.get();
}

std::string Store::NewTempPath(std::string_view prefix) {
  std::lock_guard lock(random_mutex_);
  return env::JoinPath(paths_.tmp_dir, std::string(prefix) + std::to_string(random_.Next()));
}

Result<std::string> Store::Backup(BackupFormat format, bool vacuum, const std::vector<std::string>& tables) {
  std::string path = NewTempPath("backup-");
  if (format == BackupFormat::kSql) {
    std::ofstream out(path, std::ios::binary);
    if (!out) return Status::IOError("cannot create " + path);
    Status dumped = db_->DumpSql(
        [&out](std::string_view piece) {
          out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
          return out ? Status::OK() : Status::IOError("backup: write failed");
        },
        tables);
    out.close();
    if (!dumped.ok()) {
      (void)fs_->DeleteFile(path);
      return dumped;
    }
    StoreCounters().num_backups.Add();
    return path;
  }
  Status status = db_->Backup(path, format == BackupFormat::kDelete ? db::BackupFormat::kBinaryDelete
                                                                   : db::BackupFormat::kBinaryWal,
                              vacuum);
  if (!status.ok()) {
    (void)fs_->DeleteFile(path);
    return status;
  }
  StoreCounters().num_backups.Add();
  return path;
}

}  // namespace rq::store
