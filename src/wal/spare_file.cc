#include "wal/spare_file.h"

#include <algorithm>
#include <chrono>

#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "wal/wal_format.h"

namespace rq::wal {

namespace {

// Zeros are written and synced a chunk at a time, with a pause between
// chunks in background mode: a device cache flush (every fdatasync issues
// one) waits for all written data, so a large unsynced burst from the filler
// would stall the log's own syncs for its whole length.
constexpr uint64_t kChunkBytes = 1 << 20;
constexpr auto kPauseBetweenChunks = std::chrono::milliseconds(1);

}  // namespace

SpareFile::SpareFile(env::FileSystem* fs, const std::string& dir, uint64_t bytes, bool background)
    : fs_(fs),
      dir_(dir),
      path_(env::JoinPath(dir, std::string(format::kSpareFileName))),
      bytes_(bytes),
      background_(background) {
  if (background_) {
    thread_ = std::thread([this] {
      NameThisThread("wal-spare");
      CallContained("wal: preparing the spare segment", [this] { Run(); });
    });
  }
}

SpareFile::~SpareFile() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpareFile::Request() {
  std::unique_lock lock(mu_);
  if (ready_ || pending_ || running_ || stop_) return;
  if (background_) {
    pending_ = true;
    cv_.notify_all();
    return;
  }
  running_ = true;
  lock.unlock();
  Status s = Prepare();
  lock.lock();
  running_ = false;
  ready_ = s.ok();
}

std::optional<std::string> SpareFile::Take() {
  std::lock_guard lock(mu_);
  if (!ready_) return std::nullopt;
  ready_ = false;
  return path_;
}

bool SpareFile::ready() const {
  std::lock_guard lock(mu_);
  return ready_;
}

void SpareFile::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return stop_ || (!pending_ && !running_); });
}

bool SpareFile::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

bool SpareFile::PauseUnlessStopping() {
  std::unique_lock lock(mu_);
  if (background_) cv_.wait_for(lock, kPauseBetweenChunks, [this] { return stop_; });
  return !stop_;
}

void SpareFile::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_; });
    if (stop_) return;
    pending_ = false;
    running_ = true;
    lock.unlock();
    Status s = Prepare();
    lock.lock();
    running_ = false;
    ready_ = s.ok() && !stop_;
    cv_.notify_all();  // WaitIdle
  }
}

Status SpareFile::Prepare() {
  auto usable = LeftoverIsUsable();
  Status s = usable.status();
  if (s.ok() && !*usable) s = WriteZeros();
  if (s.ok()) s = fs_->SyncDir(dir_);
  if (!s.ok()) {
    // The log falls back to growing segments; the next rollover asks again.
    if (!stopping()) RQ_LOG_WARN("wal: preparing {} failed: {}", path_, s.ToString());
    (void)fs_->DeleteFile(path_);
  }
  return s;
}

// A spare left by an earlier run may be half filled, or hold the header and
// records of a segment whose rename never reached the disk: only a whole
// zero file of the right size is reused (synced again, cheap when clean).
Result<bool> SpareFile::LeftoverIsUsable() {
  auto size = fs_->FileSize(path_);
  if (size.status().IsNotFound()) return false;
  if (!size.ok()) return size.status();
  bool usable = *size == bytes_;
  if (usable) {
    auto reader = fs_->NewRandomAccessFile(path_);
    if (!reader.ok()) return reader.status();
    std::string chunk;
    for (uint64_t offset = 0; usable && offset < bytes_; offset += kChunkBytes) {
      RQ_RETURN_IF_ERROR((*reader)->Read(offset, static_cast<size_t>(std::min(kChunkBytes, bytes_ - offset)), &chunk));
      usable = chunk.size() == std::min(kChunkBytes, bytes_ - offset) &&
               std::all_of(chunk.begin(), chunk.end(), [](char c) { return c == 0; });
    }
  }
  if (!usable) {
    RQ_RETURN_IF_ERROR(fs_->DeleteFile(path_));
    return false;
  }
  auto file = fs_->NewWritableFileAt(path_, bytes_);
  if (!file.ok()) return file.status();
  RQ_RETURN_IF_ERROR((*file)->Sync());
  return true;
}

Status SpareFile::WriteZeros() {
  auto file = fs_->NewWritableFile(path_, env::OpenMode::kTruncate);
  if (!file.ok()) return file.status();
  const std::string zeros(static_cast<size_t>(std::min(kChunkBytes, bytes_)), '\0');
  uint64_t written = 0;
  while (written < bytes_) {
    if (written > 0 && !PauseUnlessStopping()) return Status::Aborted("wal: spare preparation stopped");
    uint64_t n = std::min<uint64_t>(zeros.size(), bytes_ - written);
    RQ_RETURN_IF_ERROR((*file)->Append(std::string_view(zeros).substr(0, static_cast<size_t>(n))));
    RQ_RETURN_IF_ERROR((*file)->Sync());
    written += n;
  }
  return (*file)->Close();
}

}  // namespace rq::wal
