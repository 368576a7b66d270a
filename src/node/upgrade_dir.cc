// PrepareDataDir: inspect, convert into upgrade.tmp, commit by renaming it to
// upgrade.ready, then move the originals aside and ours into place.
#include "node/upgrade_dir.h"

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "store/node_directory.h"
#include "store/snapshot_meta.h"
#include "node/upgrade_log.h"
#include "upgrade/go_raft_log.h"
#include "upgrade/snapshot_image.h"
#include "wal/wal.h"

namespace rq::node {

using namespace rq::upgrade;  // NOLINT: the Go formats this file converts

namespace {

using env::JoinPath;
namespace names = upgrade_names;

// Appends of converted entries are flushed to the WAL in batches this big,
// so a long log is never held in memory whole.
constexpr uint64_t kAppendBatchBytes = 32ull << 20;
// Entries read to guess the command dialect when the files do not say it.
constexpr size_t kDialectSampleMax = 4096;

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string Describe(const GoConfiguration& configuration) {
  std::vector<std::string> members;
  for (const GoServer& server : configuration.servers) {
    members.push_back(server.id + " at " + server.address + " (" + GoSuffrageName(server.suffrage) + ")");
  }
  return members.empty() ? "no members" : Join(members, ", ");
}

Status CheckDatabase(const std::string& path, const std::string& source) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::vector<std::string> problems;
  if (rc == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
    int step = SQLITE_DONE;
    while (rc == SQLITE_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      std::string line = text == nullptr ? "" : reinterpret_cast<const char*>(text);
      if (line != "ok" && problems.size() < 5) problems.push_back(line);
    }
    if (rc == SQLITE_OK && step != SQLITE_DONE) problems.push_back(sqlite3_errmsg(db));
    sqlite3_finalize(stmt);
  }
  if (rc != SQLITE_OK) problems.push_back(db == nullptr ? "cannot open" : sqlite3_errmsg(db));
  sqlite3_close(db);
  if (problems.empty()) return Status::OK();
  return Status::Corruption(source + " fails PRAGMA integrity_check: " + Join(problems, "; "));
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("cannot remove " + path + ": " + ec.message());
  return Status::OK();
}

// The Go names a conversion moves aside: the log store, the snapshot
// stores and their markers, SQLite's files, raft/ (peers.json, peers.info)
// and Go's CDC queue. (A cdc/ of ours would have made the directory mixed.)
std::vector<std::string> GoTopLevelNames(env::FileSystem& fs, const std::string& dir) {
  std::vector<std::string> out;
  for (const char* name : {"raft.db", "rsnapshots", "snapshots", "wsnapshots", "wal-staging", "clean_snapshot",
                           "db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal", "raft", "cdc",
                           "fifo.db"}) {
    if (fs.FileExists(JoinPath(dir, name))) out.push_back(name);
  }
  return out;
}

std::string FreeOriginalsName(env::FileSystem& fs, const std::string& dir) {
  std::string name = names::kOriginals;
  for (int n = 1; fs.FileExists(JoinPath(dir, name)); ++n) name = std::string(names::kOriginals) + "." + std::to_string(n);
  return name;
}

// Step 2 and 3 of the header's protocol; safe to repeat after a crash.
Status FinishMoves(env::FileSystem& fs, const std::string& dir, std::vector<std::string>* report) {
  const std::string ready = JoinPath(dir, names::kReady);
  const std::string plan_path = JoinPath(ready, names::kPlan);
  if (fs.FileExists(plan_path)) {
    Result<std::string> plan = fs.ReadFile(plan_path);
    if (!plan.ok()) return plan.status();
    std::vector<std::string> lines;
    for (size_t start = 0; start < plan->size();) {
      size_t end = plan->find('\n', start);
      if (end == std::string::npos) end = plan->size();
      if (end > start) lines.push_back(plan->substr(start, end - start));
      start = end + 1;
    }
    if (lines.empty() || lines[0].find('/') != std::string::npos) {
      return Status::Corruption(plan_path + ": no place for the originals");
    }
    const std::string aside = JoinPath(dir, lines[0]);
    RQ_RETURN_IF_ERROR(fs.CreateDir(aside));
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::string& name = lines[i];
      if (name.find('/') != std::string::npos || name == "." || name == "..") {
        return Status::Corruption(plan_path + ": bad name " + name);
      }
      // Already moved (the destination exists): a name seen again at the
      // top is ours, moved in by the step below.
      if (fs.FileExists(JoinPath(aside, name)) || !fs.FileExists(JoinPath(dir, name))) continue;
      RQ_RETURN_IF_ERROR(fs.RenameFile(JoinPath(dir, name), JoinPath(aside, name)));
    }
    RQ_RETURN_IF_ERROR(fs.SyncDir(aside));
    RQ_RETURN_IF_ERROR(fs.SyncDir(dir));
    for (const char* ours : {"db.sqlite", "raft"}) {
      const std::string from = JoinPath(ready, ours);
      if (!fs.FileExists(from)) continue;
      if (fs.FileExists(JoinPath(dir, ours))) {
        return Status::Internal(std::string("upgrade: ") + JoinPath(dir, ours) + " is still there; cannot move ours in");
      }
      RQ_RETURN_IF_ERROR(fs.RenameFile(from, JoinPath(dir, ours)));
    }
    RQ_RETURN_IF_ERROR(fs.SyncDir(dir));
    RQ_RETURN_IF_ERROR(fs.DeleteFile(plan_path));
    report->push_back("Go rqlite's files moved to " + aside + " (" +
                      Join(std::vector<std::string>(lines.begin() + 1, lines.end()), ", ") + ")");
  }
  RQ_RETURN_IF_ERROR(RemoveTree(ready));
  return fs.SyncDir(dir);
}

struct ScanResult {
  GoCommandDialect dialect = GoCommandDialect::kV7Plus;
  std::map<std::string, std::string> api_addresses;  // node id -> HTTP API address
};

// First pass over the log: the command dialect (when the files do not say
// it) and, for v5/v6, the API addresses kept as metadata.
Result<ScanResult> ScanLog(const GoRaftStore& go, const DataDirInspection& found) {
  ScanResult out;
  if (found.dialect) {
    out.dialect = *found.dialect;
  } else {
    std::vector<std::string> sample;
    RQ_RETURN_IF_ERROR(go.ForEachEntry([&](const GoLogEntry& entry) {
      if (entry.type == static_cast<uint8_t>(GoLogType::kCommand) && sample.size() < kDialectSampleMax) {
        sample.push_back(entry.data);
      }
      return Status::OK();
    }));
    std::vector<std::string_view> views(sample.begin(), sample.end());
    out.dialect = GuessGoCommandDialect(views);
  }
  if (out.dialect == GoCommandDialect::kV5V6) {
    RQ_RETURN_IF_ERROR(go.ForEachEntry([&](const GoLogEntry& entry) {
      if (entry.type != static_cast<uint8_t>(GoLogType::kCommand)) return Status::OK();
      // Undecodable commands are reported by the conversion pass.
      if (Result<GoCommand> command = DecodeGoCommand(entry.data, out.dialect); command.ok()) {
        CollectApiAddress(*command, &out.api_addresses);
      }
      return Status::OK();
    }));
  }
  return out;
}

// Our vote is a node id; hashicorp/raft kept the candidate's address (older
// releases) or id. nullopt when it names nobody we know.
std::optional<std::string> VoteId(const std::string& candidate, const std::vector<const GoConfiguration*>& configs) {
  for (const GoConfiguration* config : configs) {
    for (const GoServer& server : config->servers) {
      if (server.id == candidate) return server.id;
    }
  }
  for (const GoConfiguration* config : configs) {
    if (const GoServer* server = config->FindByAddress(candidate)) return server->id;
  }
  return std::nullopt;
}

class Converter {
 public:
  Converter(env::FileSystem& fs, std::string dir, const DataDirInspection& found, const LocalNode& self)
      : fs_(fs), dir_(std::move(dir)), found_(found), self_(self), staging_(JoinPath(dir_, names::kStaging)) {}

  Status Run(std::vector<std::string>* report);

 private:
  Status ConvertLog(const GoRaftStore& go, const ScanResult& scan);
  Status Flush();

  env::FileSystem& fs_;
  const std::string dir_;
  const DataDirInspection& found_;
  const LocalNode& self_;
  const std::string staging_;

  std::unique_ptr<wal::Wal> wal_;
  std::vector<wal::Record> batch_;
  uint64_t batch_bytes_ = 0;
  // The snapshot the converted log starts after (the Go snapshot's, or a
  // bootstrap configuration at index 1).
  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  GoConfiguration snapshot_configuration_;
  GoConfiguration final_configuration_;
  uint64_t first_converted_ = 0, last_converted_ = 0, last_term_ = 0;
};

Status Converter::Flush() {
  if (batch_.empty()) return Status::OK();
  RQ_RETURN_IF_ERROR(wal_->Append(batch_));
  batch_.clear();
  batch_bytes_ = 0;
  return Status::OK();
}

Status Converter::ConvertLog(const GoRaftStore& go, const ScanResult& scan) {
  std::map<std::string, std::string> api = scan.api_addresses;
  if (!self_.api_addr.empty()) api[self_.id] = self_.api_addr;  // our own flags are the truth for us
  std::optional<LogConverter> converter;
  converter.emplace(scan.dialect, snapshot_configuration_, api);
  uint64_t expected = snapshot_index_ + 1;
  Status status = go.ForEachEntry([&](const GoLogEntry& entry) -> Status {
    if (entry.index <= snapshot_index_) return Status::OK();  // the snapshot has it
    if (entry.index != expected) {
      const std::string expected_from = snapshot_index_ > 0
                                            ? "the snapshot ends at index " + std::to_string(snapshot_index_)
                                            : "a log without a snapshot must start at index 1";
      return Status::Corruption(go.path() + ": the log goes on at index " + std::to_string(entry.index) + " but " +
                                expected_from + ": entries are missing");
    }
    // A cluster bootstrapped with several servers (-bootstrap-expect) starts
    // with one configuration naming them all; here it becomes the starting
    // snapshot (every Go node wrote the same entry there).
    if (entry.index == 1 && snapshot_index_ == 0 && entry.type == static_cast<uint8_t>(GoLogType::kConfiguration)) {
      Result<GoConfiguration> bootstrap = DecodeGoConfiguration(entry.data);
      if (!bootstrap.ok()) return bootstrap.status().WithContext(go.path() + " entry 1");
      if (bootstrap->servers.size() > 1) {
        snapshot_index_ = 1;
        snapshot_term_ = entry.term;
        snapshot_configuration_ = *bootstrap;
        RQ_RETURN_IF_ERROR(wal_->Reset(LogIndex(1), Term(entry.term)));
        converter.emplace(scan.dialect, snapshot_configuration_, api);
        expected = 2;
        return Status::OK();
      }
    }
    Result<raft::Entry> converted = converter->Convert(entry);
    if (!converted.ok()) return converted.status();
    if (first_converted_ == 0) first_converted_ = entry.index;
    last_converted_ = entry.index;
    last_term_ = entry.term;
    wal::Record record;
    record.index = converted->index;
    record.term = converted->term;
    record.type = static_cast<uint8_t>(converted->type);
    record.payload = std::move(converted->data);
    batch_bytes_ += record.payload.size() + 32;
    batch_.push_back(std::move(record));
    ++expected;
    return batch_bytes_ >= kAppendBatchBytes ? Flush() : Status::OK();
  });
  RQ_RETURN_IF_ERROR(status);
  RQ_RETURN_IF_ERROR(Flush());
  final_configuration_ = converter->configuration();
  return wal_->Sync();
}

Status Converter::Run(std::vector<std::string>* report) {
  report->push_back("found " + found_.Describe());
  Result<GoRaftStore> go = GoRaftStore::Open(fs_, JoinPath(dir_, "raft.db"));
  if (!go.ok()) return go.status();
  const GoSnapshot* snapshot = found_.latest_snapshot();
  if (snapshot != nullptr) {
    if (!found_.interrupted_reap.empty()) {
      return Status::NotSupported(found_.interrupted_reap +
                                  ": Go rqlite stopped while folding its incremental snapshots into a full one. "
                                  "Start that Go rqlite once more (it finishes at start), stop it, then start rqlited");
    }
    snapshot_index_ = snapshot->meta.index;
    snapshot_term_ = snapshot->meta.term;
    snapshot_configuration_ = snapshot->meta.configuration;
  }
  Result<ScanResult> scan = ScanLog(*go, found_);
  if (!scan.ok()) return scan.status();

  RQ_RETURN_IF_ERROR(RemoveTree(staging_));
  RQ_RETURN_IF_ERROR(fs_.CreateDir(staging_));
  const store::DataPaths ours(staging_);
  RQ_RETURN_IF_ERROR(fs_.CreateDir(ours.raft_dir));
  RQ_RETURN_IF_ERROR(fs_.CreateDir(ours.log_dir));
  auto wal = wal::Wal::Open(&fs_, ours.log_dir, wal::Options{});
  if (!wal.ok()) return wal.status();
  wal_ = std::move(wal).value();
  if (snapshot_index_ > 0) RQ_RETURN_IF_ERROR(wal_->Reset(LogIndex(snapshot_index_), Term(snapshot_term_)));
  RQ_RETURN_IF_ERROR(ConvertLog(*go, *scan));
  if (first_converted_ == 0) final_configuration_ = snapshot_configuration_;

  // This node must be the one the directory belongs to.
  const raft::Membership membership = MembershipOf(final_configuration_);
  if (!membership.Contains(NodeId(self_.id))) {
    if (const GoServer* owner = final_configuration_.FindByAddress(self_.raft_addr)) {
      return Status::InvalidArgument("this data directory belongs to node " + owner->id + " (Raft address " +
                                     owner->address + "), but this node was started with -node-id " + self_.id +
                                     "; start it with -node-id " + owner->id);
    }
    report->push_back("warning: node " + self_.id + " is not a member of the converted cluster (" +
                      Describe(final_configuration_) + ")");
  } else {
    for (const GoServer& server : final_configuration_.servers) {
      if (server.id == self_.id && server.address != self_.raft_addr) {
        report->push_back("warning: the cluster knows node " + self_.id + " at " + server.address +
                          ", but it now advertises " + self_.raft_addr + "; rejoin it (-join) to update the address");
      }
    }
  }

  // Term and vote. A vote we cannot name moves the node to the next term
  // with no vote: a node may always raise its term, never vote twice in one.
  const GoHardState& hard = go->hard_state();
  wal::HardState state;
  state.term = Term(std::max(hard.current_term, last_term_));
  state.commit = LogIndex(snapshot_index_);
  if (hard.last_vote_term == hard.current_term && !hard.last_vote_candidate.empty() &&
      state.term == Term(hard.current_term)) {
    std::optional<std::string> vote = VoteId(hard.last_vote_candidate, {&final_configuration_, &snapshot_configuration_});
    if (vote) {
      state.vote = *vote;
    } else {
      state.term = state.term + 1;
      report->push_back("the vote of term " + std::to_string(hard.current_term) + " (for " +
                        hard.last_vote_candidate + ") names no known member: starting at term " +
                        std::to_string(state.term.value()) + " without a vote");
    }
  }
  RQ_RETURN_IF_ERROR(wal_->SaveHardState(state));
  wal_.reset();

  if (snapshot_index_ > 0) {
    store::SnapshotRecord record;
    record.meta.index = LogIndex(snapshot_index_);
    record.meta.term = Term(snapshot_term_);
    record.meta.membership = MembershipOf(snapshot_configuration_);
    for (const GoServer& server : snapshot_configuration_.servers) {
      auto api = scan->api_addresses.find(server.id);
      std::string api_addr = server.id == self_.id ? self_.api_addr
                             : api != scan->api_addresses.end() ? api->second
                                                                : "";
      record.addresses[NodeId(server.id)] = store::NodeAddress{server.address, api_addr};
    }
    RQ_RETURN_IF_ERROR(store::WriteSnapshotRecord(&fs_, ours.snapshot_meta, record));
  }
  if (snapshot != nullptr) {
    Result<GoSnapshotImage> image = BuildGoSnapshotImage(fs_, found_.snapshots, ours.db);
    if (!image.ok()) return image.status();
    const std::string source = snapshot->data_path.empty() ? snapshot->meta_path : snapshot->data_path;
    RQ_RETURN_IF_ERROR(CheckDatabase(ours.db, "the snapshot database " + source));
    if (image->wal_files > 0) {
      report->push_back("snapshot " + snapshot->meta.id + ": the database of " + image->base_id + " with " +
                        std::to_string(image->wal_files) + " WAL file(s) replayed (" + std::to_string(image->frames) +
                        " frames)");
    }
  }
  if (found_.has_peers_json) {
    // A manual recovery Go rqlite had not run yet: ours runs it at start
    // (the same file format).
    Result<std::string> peers = fs_.ReadFile(JoinPath(dir_, "raft/peers.json"));
    if (!peers.ok()) return peers.status();
    RQ_RETURN_IF_ERROR(fs_.WriteFileAtomic(JoinPath(ours.raft_dir, "peers.json"), *peers));
    report->push_back("raft/peers.json carried over: the recovery it asks for runs next");
  }
  std::string plan = FreeOriginalsName(fs_, dir_) + "\n";
  for (const std::string& name : GoTopLevelNames(fs_, dir_)) plan += name + "\n";
  RQ_RETURN_IF_ERROR(fs_.WriteFileAtomic(JoinPath(staging_, names::kPlan), plan));
  RQ_RETURN_IF_ERROR(fs_.SyncDir(ours.raft_dir));
  RQ_RETURN_IF_ERROR(fs_.SyncDir(staging_));

  report->push_back("command dialect: " + std::string(scan->dialect == GoCommandDialect::kV5V6 ? "v5/v6" : "v7+"));
  report->push_back(snapshot_index_ > 0 ? "snapshot at index " + std::to_string(snapshot_index_) + " term " +
                                              std::to_string(snapshot_term_) + " becomes db.sqlite"
                                        : "no snapshot: the database is rebuilt from the log");
  report->push_back(first_converted_ == 0 ? "no log entries after the snapshot"
                                          : "log entries " + std::to_string(first_converted_) + ".." +
                                                std::to_string(last_converted_) + " converted");
  report->push_back("term " + std::to_string(state.term.value()) +
                    (state.vote.empty() ? ", no vote" : ", voted for " + state.vote) + "; members: " +
                    Describe(final_configuration_));

  // The commit point.
  RQ_RETURN_IF_ERROR(fs_.RenameFile(staging_, JoinPath(dir_, names::kReady)));
  return fs_.SyncDir(dir_);
}

}  // namespace

Result<PrepareOutcome> PrepareDataDir(env::FileSystem& fs, const std::string& dir, const LocalNode& self) {
  PrepareOutcome out;
  if (fs.FileExists(JoinPath(dir, names::kReady))) {
    out.resumed = true;
    out.report.push_back("finishing an interrupted conversion from Go rqlite");
    RQ_RETURN_IF_ERROR(FinishMoves(fs, dir, &out.report).WithContext("upgrade"));
  }
  if (fs.FileExists(JoinPath(dir, names::kStaging))) {
    // An interrupted conversion before its commit point: the Go files are
    // untouched, so it starts over.
    out.report.push_back("discarding an unfinished conversion (" + std::string(names::kStaging) + ")");
    RQ_RETURN_IF_ERROR(RemoveTree(JoinPath(dir, names::kStaging)));
  }
  Result<DataDirInspection> found = InspectDataDir(fs, dir);
  if (!found.ok()) return found.status();
  out.found = *found;
  switch (found->kind) {
    case DataDirKind::kOurs:
      if (!found->unknown_files.empty()) {
        out.report.push_back("warning: files neither program writes, left alone: " + Join(found->unknown_files, ", "));
      }
      return out;
    case DataDirKind::kEmpty:
      return out;
    case DataDirKind::kMixed:
      return Status::InvalidArgument("data directory " + dir + " holds both Go rqlite's files (" +
                                     Join(found->go_files, ", ") + ") and ours (" + Join(found->our_files, ", ") +
                                     "); refusing to start. Move one set away");
    case DataDirKind::kUnknown:
      return Status::InvalidArgument("data directory " + dir + " holds files that are neither rqlite's nor ours (" +
                                     Join(found->unknown_files, ", ") +
                                     "); refusing to start on them. Use an empty directory, or move them away");
    case DataDirKind::kGo:
      break;
  }
  Converter converter(fs, dir, *found, self);
  Status converted = converter.Run(&out.report);
  if (!converted.ok()) {
    (void)RemoveTree(JoinPath(dir, names::kStaging));  // the Go files were never touched
    return converted.WithContext("cannot convert the Go rqlite data directory " + dir + " (nothing was changed)");
  }
  RQ_RETURN_IF_ERROR(FinishMoves(fs, dir, &out.report).WithContext("upgrade"));
  out.converted = true;
  return out;
}

}  // namespace rq::node
