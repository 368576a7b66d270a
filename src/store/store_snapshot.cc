// Store's snapshots: taking one (checkpoint protocol, then log compaction),
// streaming it to a peer, and receiving and installing a leader's.
#include "store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include "base/coding.h"
#include "base/logging.h"
#include "store/store_internal.h"
#include "store/store_metrics.h"

namespace rq::store {

using internal::StopNode;

namespace {

// fdatasync of an existing file (the SQLite WAL, which SQLite itself does
// not sync while synchronous=OFF). A missing file has nothing to sync.
Status SyncFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::OK() : Status::IOError("open " + path);
  int rc = ::fdatasync(fd);
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::IOError("fdatasync " + path);
}

}  // namespace

void Store::MaybeSnapshot(bool forced, uint64_t trailing_entries, std::function<void(Result<bool>)> done) {
  LogIndex applied, snapshot_index;
  {
    std::lock_guard lock(apply_mutex_);
    applied = applied_;
    snapshot_index = snapshot_.meta.index;
  }
  bool due = forced ? applied > snapshot_index : applied - snapshot_index >= options_.snapshot_entries;
  if (!due) {
    if (done) done(false);
    return;
  }
  Status taken = TakeSnapshot(trailing_entries);
  if (!taken.ok()) RQ_LOG_ERROR("store: snapshot failed: {}", taken.ToString());
  if (done) {
    if (taken.ok()) done(true);
    else done(taken);
  }
}

Status Store::TakeSnapshot(uint64_t trailing_entries) {
  const auto start = std::chrono::steady_clock::now();
  Status taken = CaptureSnapshot(trailing_entries);
  StoreMetrics& counters = StoreCounters();
  (taken.ok() ? counters.num_snapshots : counters.num_snapshots_failed).Add();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  counters.snapshot_create_duration.Set(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
  (taken.ok() ? Series().snapshots_ok : Series().snapshots_failed).Add();
  if (taken.ok()) Series().snapshot_duration.Observe(std::chrono::duration<double>(elapsed).count());
  return taken;
}

Status Store::CaptureSnapshot(uint64_t trailing_entries) {
  SnapshotRecord record;
  {
    std::lock_guard lock(apply_mutex_);
    record.meta.index = applied_;
    record.meta.term = applied_term_;
  }
  if (options_.change_listener != nullptr) {
    RQ_RETURN_IF_ERROR(options_.change_listener->BeforeSnapshot(record.meta.index));
  }
  // Membership as of the applied index comes from the core (it replays the
  // config entries); read it on the Raft thread.
  auto meta_promise = std::make_shared<std::promise<Result<raft::SnapshotMeta>>>();
  auto meta_future = meta_promise->get_future();
  bool posted = raft_node_->Post([meta_promise, index = record.meta.index](raft::Raft& raft) {
    meta_promise->set_value(raft.SnapshotMetaFor(index));
  });
  if (!posted) return Status::Aborted("snapshot: node stopping");
  if (meta_future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Status::Timeout("snapshot: raft loop did not answer");
  }
  Result<raft::SnapshotMeta> meta = meta_future.get();
  if (!meta.ok()) return meta.status();
  record.meta = *meta;
  record.addresses = directory_.All();

  {
    // A peer is being sent the current snapshot's file: try again later
    // rather than stall writes until the stream ends.
    std::unique_lock file_lock(snapshot_file_mutex_, std::try_to_lock);
    if (!file_lock.owns_lock()) return Status::Busy("snapshot: the current snapshot is being streamed to a peer");
    RQ_RETURN_IF_ERROR(CheckpointAs(record));
  }
  auto compact_promise = std::make_shared<std::promise<Status>>();
  auto compact_future = compact_promise->get_future();
  bool compact_posted = raft_node_->Post([this, meta = record.meta, trailing_entries, compact_promise](raft::Raft& raft) {
    compact_promise->set_value(log_->CompactTo(raft, meta, trailing_entries));
  });
  if (!compact_posted) return Status::Aborted("snapshot: node stopping");
  if (compact_future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return Status::Timeout("snapshot: raft loop did not compact");
  }
  RQ_LOG_INFO("store: snapshot at index {} (term {})", record.meta.index.value(), record.meta.term.value());
  return compact_future.get();
}

Status Store::CheckpointAs(const SnapshotRecord& record) {
  // The protocol of snapshot_meta.h: durable WAL, intent, checkpoint, commit.
  RQ_RETURN_IF_ERROR(SyncFile(paths_.db + "-wal"));
  RQ_RETURN_IF_ERROR(WriteSnapshotRecord(fs_, paths_.checkpoint_intent, record));
  // From here the SQLite WAL must stay exactly the state at the intent's
  // index until the checkpoint completes: nothing else may be applied. So a
  // checkpoint held up by readers is retried (writes wait), and one that
  // cannot finish stops the process, whose restart completes it from the
  // intent (see snapshot_meta.h). Giving up and going on could apply entries
  // twice after a crash.
  Status checkpointed = db_->Checkpoint();
  for (int attempt = 0; !checkpointed.ok() && checkpointed.IsBusy() && attempt < 600; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    checkpointed = db_->Checkpoint();
  }
  if (checkpointed.ok()) checkpointed = fs_->RenameFile(paths_.checkpoint_intent, paths_.snapshot_meta);
  if (checkpointed.ok()) checkpointed = fs_->SyncDir(paths_.raft_dir);
  if (!checkpointed.ok()) {
    StopNode("the snapshot at index " + std::to_string(record.meta.index.value()) +
             " could not be checkpointed: " + checkpointed.ToString() +
             " (a restart completes it from its intent file once the disk has room)");
  }
  std::lock_guard lock(apply_mutex_);
  snapshot_ = record;
  ++snapshots_taken_;
  return Status::OK();
}

Result<bool> Store::Snapshot(uint64_t trailing_entries) {
  auto promise = std::make_shared<std::promise<Result<bool>>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(SnapshotTask{trailing_entries, [promise](Result<bool> r) { promise->set_value(r); }});
  }
  apply_wake_.notify_one();
  StoreMetrics& counters = StoreCounters();
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    counters.num_user_snapshots_failed.Add();
    return Status::Timeout("snapshot did not finish in time");
  }
  Result<bool> taken = future.get();
  // "Nothing new to snapshot" (false) is an answer, not a failure.
  (taken.ok() ? counters.num_user_snapshots : counters.num_user_snapshots_failed).Add();
  return taken;
}

// ---- snapshot transfer -------------------------------------------------------------
//
// Stream layout: magic u32 "RQSS" | record length u32 | snapshot record
// (EncodeSnapshotRecord: meta and member addresses) | the main database file.
// While the main file is streamed, checkpoints wait (snapshot_file_mutex_
// shared), so the bytes stay exactly the state at meta.index.

namespace {

constexpr uint32_t kStreamMagic = 0x52515353;  // "RQSS"
constexpr size_t kStreamHeaderBytes = 8;
constexpr uint32_t kStreamRecordBytesMax = 16 << 20;

class FileSnapshotStream final : public Store::SnapshotStream {
 public:
  FileSnapshotStream(std::shared_lock<std::shared_mutex> lock, std::string header, int fd, uint64_t file_bytes)
      : lock_(std::move(lock)), header_(std::move(header)), fd_(fd), file_bytes_(file_bytes) {}
  ~FileSnapshotStream() override { ::close(fd_); }
  uint64_t total_bytes() const override { return header_.size() + file_bytes_; }
  Status Read(size_t max_bytes, std::string* out) override {
    out->clear();
    if (header_offset_ < header_.size()) {
      size_t n = std::min(max_bytes, header_.size() - header_offset_);
      out->assign(header_, header_offset_, n);
      header_offset_ += n;
      return Status::OK();
    }
    if (file_offset_ >= file_bytes_) return Status::OK();
    size_t n = static_cast<size_t>(std::min<uint64_t>(max_bytes, file_bytes_ - file_offset_));
    out->resize(n);
    ssize_t got = ::pread(fd_, out->data(), n, static_cast<off_t>(file_offset_));
    if (got <= 0) return Status::IOError("snapshot stream: read of db.sqlite failed");
    out->resize(static_cast<size_t>(got));
    file_offset_ += static_cast<uint64_t>(got);
    return Status::OK();
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  std::string header_;
  size_t header_offset_ = 0;
  int fd_;
  uint64_t file_bytes_;
  uint64_t file_offset_ = 0;
};

class FileIncomingSnapshot final : public Store::IncomingSnapshot {
 public:
  FileIncomingSnapshot(env::FileSystem* fs, const DataPaths& paths, raft::SnapshotMeta meta,
                       std::unique_ptr<env::WritableFile> file)
      : fs_(fs), paths_(paths), meta_(std::move(meta)), file_(std::move(file)) {}
  ~FileIncomingSnapshot() override {
    if (!finished_) Abort();
  }

  Status Write(std::string_view chunk) override {
    if (!header_done_) {
      size_t take = 0;
      if (header_.size() < kStreamHeaderBytes) {
        take = std::min(chunk.size(), kStreamHeaderBytes - header_.size());
      } else {
        uint32_t record_bytes = coding::DecodeFixed32(header_.data() + 4);
        if (coding::DecodeFixed32(header_.data()) != kStreamMagic || record_bytes > kStreamRecordBytesMax) {
          return Status::Corruption("snapshot stream: bad header");
        }
        take = std::min(chunk.size(), kStreamHeaderBytes + record_bytes - header_.size());
      }
      header_.append(chunk.substr(0, take));
      chunk.remove_prefix(take);
      if (header_.size() >= kStreamHeaderBytes &&
          header_.size() == kStreamHeaderBytes + coding::DecodeFixed32(header_.data() + 4)) {
        header_done_ = true;
      }
      if (chunk.empty()) return Status::OK();
      if (!header_done_) return Write(chunk);
    }
    return file_->Append(chunk);
  }

  Status Finish() override {
    if (!header_done_) return Status::Corruption("snapshot stream: ended inside its header");
    Result<SnapshotRecord> record = DecodeSnapshotRecord(std::string_view(header_).substr(kStreamHeaderBytes));
    if (!record.ok()) return record.status();
    // The membership too: it is installed from this record, and the
    // announced one is what the core was told.
    if (record->meta != meta_) {
      return Status::Corruption("snapshot stream: record does not match the snapshot announced");
    }
    RQ_RETURN_IF_ERROR(file_->Sync());
    RQ_RETURN_IF_ERROR(file_->Close());
    RQ_RETURN_IF_ERROR(db::Database::ValidateImage(part_path()));
    RQ_RETURN_IF_ERROR(fs_->RenameFile(part_path(), paths_.IncomingDb(meta_)));
    // Durable before the core may act on the snapshot: a crash after the log
    // is reset finds this intent and completes the installation.
    RQ_RETURN_IF_ERROR(WriteSnapshotRecord(fs_, paths_.InstallIntent(meta_), *record));
    finished_ = true;
    return Status::OK();
  }

  void Abort() override {
    finished_ = true;
    (void)file_->Close();
    (void)fs_->DeleteFile(part_path());
  }

  std::string part_path() const { return paths_.IncomingDb(meta_) + ".part"; }

 private:
  env::FileSystem* fs_;
  DataPaths paths_;
  raft::SnapshotMeta meta_;
  std::unique_ptr<env::WritableFile> file_;
  std::string header_;
  bool header_done_ = false;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<Store::SnapshotStream>> Store::OpenSnapshotStream(const raft::SnapshotMeta& meta) {
  std::shared_lock lock(snapshot_file_mutex_);
  SnapshotRecord record;
  {
    std::lock_guard apply_lock(apply_mutex_);
    record = snapshot_;
  }
  if (record.meta.index != meta.index || record.meta.term != meta.term) {
    return Status::NotFound("snapshot " + std::to_string(meta.index.value()) + " is no longer the latest");
  }
  int fd = ::open(paths_.db.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("snapshot stream: cannot open " + paths_.db);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    ::close(fd);
    return Status::IOError("snapshot stream: cannot size " + paths_.db);
  }
  std::string encoded = EncodeSnapshotRecord(record);
  std::string header;
  coding::PutFixed32(&header, kStreamMagic);
  coding::PutFixed32(&header, static_cast<uint32_t>(encoded.size()));
  header += encoded;
  return std::unique_ptr<SnapshotStream>(
      new FileSnapshotStream(std::move(lock), std::move(header), fd, static_cast<uint64_t>(size)));
}

Result<std::unique_ptr<Store::IncomingSnapshot>> Store::BeginIncomingSnapshot(const raft::SnapshotMeta& meta) {
  auto file = fs_->NewWritableFile(paths_.IncomingDb(meta) + ".part", env::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  return std::unique_ptr<IncomingSnapshot>(new FileIncomingSnapshot(fs_, paths_, meta, std::move(file).value()));
}

void Store::InstallSnapshot(const raft::SnapshotMeta& meta) {
  {
    std::lock_guard lock(apply_mutex_);
    apply_queue_.emplace_back(InstallTask{meta});
  }
  apply_wake_.notify_one();
}

Status Store::InstallReceived(const SnapshotRecord& record) {
  const auto start = std::chrono::steady_clock::now();
  Status installed = RestoreFrom(record);
  (installed.ok() ? StoreCounters().num_restores : StoreCounters().num_restores_failed).Add();
  (installed.ok() ? Series().restores_ok : Series().restores_failed).Add();
  if (installed.ok()) {
    Series().restore_duration.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return installed;
}

Status Store::RestoreFrom(const SnapshotRecord& record) {
  std::unique_lock file_lock(snapshot_file_mutex_);
  RQ_RETURN_IF_ERROR(db_->LoadImage(paths_.IncomingDb(record.meta)));
  // LoadImage wrote the new content through the WAL; the checkpoint protocol
  // makes the main file that state, recorded at the snapshot's index.
  RQ_RETURN_IF_ERROR(CheckpointAs(record));
  {
    std::lock_guard lock(apply_mutex_);
    applied_ = record.meta.index;
    applied_term_ = record.meta.term;
    db_applied_ = record.meta.index;
  }
  for (const auto& [id, address] : record.addresses) directory_.Set(id, address);
  UpdatePeers(record.meta.membership);
  (void)fs_->DeleteFile(paths_.InstallIntent(record.meta));
  (void)fs_->DeleteFile(paths_.IncomingDb(record.meta));
  RQ_RETURN_IF_ERROR(fs_->SyncDir(paths_.raft_dir));
  RQ_LOG_INFO("store: installed snapshot at index {} (term {})", record.meta.index.value(),
              record.meta.term.value());
  return Status::OK();
}

Status Store::RecoverPendingInstall() {
  // Received snapshots recorded but not installed when the node stopped: the
  // newest one newer than our own is installed (Raft may already have reset
  // the log to it); every other leftover is removed.
  Result<std::vector<std::string>> names = fs_->ListDir(paths_.raft_dir);
  if (!names.ok()) return names.status();
  std::optional<SnapshotRecord> newest;
  std::vector<std::string> leftovers;
  for (const std::string& name : *names) {
    bool intent = name.rfind("install-", 0) == 0;
    bool incoming = name.rfind("incoming-", 0) == 0;
    if (!intent && !incoming) continue;
    leftovers.push_back(env::JoinPath(paths_.raft_dir, name));
    if (!intent || name.size() < 7 || name.substr(name.size() - 7) != ".intent") continue;
    Result<SnapshotRecord> record = ReadSnapshotRecord(fs_, leftovers.back());
    if (!record.ok()) continue;  // written atomically: a bad one was never finished
    bool usable = record->meta.index > snapshot_.meta.index && fs_->FileExists(paths_.IncomingDb(record->meta));
    if (usable && (!newest || record->meta.index > newest->meta.index)) newest = *record;
  }
  if (newest) {
    RQ_LOG_WARN("store: completing the installation of received snapshot {}", newest->meta.index.value());
    RQ_RETURN_IF_ERROR(InstallReceived(*newest));
  }
  for (const std::string& path : leftovers) (void)fs_->DeleteFile(path);
  return Status::OK();
}

}  // namespace rq::store
