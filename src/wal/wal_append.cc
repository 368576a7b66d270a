// Appending to a Wal: validation, the read cache of fresh records, segment
// rollover (onto a preallocated spare when one is ready) and the three-step
// Sync that GroupCommitLog splits around its lock.
#include "wal/wal.h"

#include <algorithm>
#include <chrono>

#include "metrics/prometheus.h"
#include "metrics/trace.h"
#include "wal/wal_format.h"
#include "wal/wal_internal.h"

namespace rq::wal {

// ---- Writes ----

Status Wal::ValidateAppend(const std::vector<Record>& records) const {
  const LogIndex first = records.front().index;
  if (first == LogIndex(0)) return Status::InvalidArgument("wal: index 0 is not a log index");
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].index != first + i) return Status::InvalidArgument("wal: records not contiguous");
    if (records[i].payload.size() > format::kRecordPayloadBytesMax) {
      return Status::InvalidArgument("wal: payload larger than 1 GiB");
    }
  }
  bool fresh = empty() && floor_ == LogIndex(0);
  if (fresh) return Status::OK();
  if (first > last_index() + 1) {
    return Status::InvalidArgument("wal: append at " + std::to_string(first.value()) + " leaves a gap after " +
                                   std::to_string(last_index().value()));
  }
  if (first < first_index()) {
    return Status::InvalidArgument("wal: append at " + std::to_string(first.value()) + " is below first index " +
                                   std::to_string(first_index().value()));
  }
  return Status::OK();
}

Status Wal::Append(const std::vector<Record>& records) {
  RQ_RETURN_IF_ERROR(broken_);
  if (records.empty()) return Status::OK();
  RQ_RETURN_IF_ERROR(ValidateAppend(records));
  if (!empty() && records.front().index <= last_index()) {
    RQ_RETURN_IF_ERROR(TruncateSuffix(records.front().index));
  }
  RQ_RETURN_IF_ERROR(WriteRecords(records));
  CacheAppended(records);
  return Status::OK();
}

void Wal::CacheAppended(const std::vector<Record>& records) {
  for (const Record& record : records) {
    if (record.payload.size() > options_.read_cache_bytes_max) {
      cache_.clear();  // keep the cache a contiguous suffix
      cache_bytes_ = 0;
      continue;
    }
    RQ_ASSERT(cache_.empty() || cache_.back().index + 1 == record.index);
    cache_.push_back(record);
    cache_bytes_ += record.payload.size();
    while (cache_bytes_ > options_.read_cache_bytes_max) {
      cache_bytes_ -= cache_.front().payload.size();
      cache_.pop_front();
    }
  }
}

void Wal::UncacheFrom(LogIndex index) {
  while (!cache_.empty() && cache_.back().index >= index) {
    cache_bytes_ -= cache_.back().payload.size();
    cache_.pop_back();
  }
}

void Wal::UncacheThrough(LogIndex index) {
  while (!cache_.empty() && cache_.front().index <= index) {
    cache_bytes_ -= cache_.front().payload.size();
    cache_.pop_front();
  }
}

const Record* Wal::Cached(LogIndex index) const {
  if (cache_.empty() || index < cache_.front().index || index > cache_.back().index) return nullptr;
  const Record* record = &cache_[index - cache_.front().index];
  RQ_ASSERT(record->index == index);
  return record;
}

Status Wal::WriteRecords(const std::vector<Record>& records) {
  std::string buffer;
  auto flush = [&]() -> Status {
    if (buffer.empty()) return Status::OK();
    Segment& segment = *segments_.back();
    RQ_RETURN_IF_ERROR(Broken(segment.writer->Append(buffer)));
    segment.size_bytes += buffer.size();
    segment.capacity = std::max(segment.capacity, segment.size_bytes);
    buffer.clear();
    return Status::OK();
  };
  MaybeRequestSpare();  // a segment cut by a truncation grows: it wants one now
  bool move_to_spare = ShouldMoveToSpare();
  for (const Record& record : records) {
    uint64_t bytes = EncodedRecordBytes(record.payload.size());
    if (empty() || move_to_spare ||
        segments_.back()->size_bytes + buffer.size() + bytes > options_.segment_bytes_max) {
      move_to_spare = false;
      RQ_RETURN_IF_ERROR(flush());
      RQ_RETURN_IF_ERROR(StartSegment(record.index));
    }
    Segment& segment = *segments_.back();
    RecordLocation location;
    location.offset = segment.size_bytes + buffer.size();
    location.payload_bytes = static_cast<uint32_t>(record.payload.size());
    location.type = record.type;
    location.term = record.term;
    EncodeRecord(record, &buffer);
    segment.records.push_back(location);
  }
  RQ_RETURN_IF_ERROR(flush());
  MaybeRequestSpare();
  return Status::OK();
}

// A growing segment (no spare was ready when it started, or a suffix
// truncation cut its file) is left early once a spare is ready, so that a
// fresh log or a truncation does not keep paying for growing files until
// the segment fills.
bool Wal::ShouldMoveToSpare() const {
  return spare_ != nullptr && !empty() && segments_.back()->capacity < options_.segment_bytes_max &&
         spare_->ready();
}

void Wal::MaybeRequestSpare() {
  if (spare_ == nullptr) return;
  // Once per active segment: after a failed preparation (a full disk) the
  // next try is StartSegment's, at the rollover, not one at every append.
  const LogIndex active = empty() ? LogIndex(0) : segments_.back()->first;
  if (spare_asked_for_ == active) return;
  const bool wanted = empty() || segments_.back()->capacity < options_.segment_bytes_max ||
                      segments_.back()->size_bytes >= options_.segment_bytes_max / 2;
  if (!wanted) return;
  spare_asked_for_ = active;
  spare_->Request();  // off this thread unless inline
}

Status Wal::StartSegment(LogIndex first_index) {
  if (!empty()) {
    // The finished segment is made durable before its successor exists, so
    // that only the last segment can ever have a torn tail.
    Segment& done = *segments_.back();
    RQ_RETURN_IF_ERROR(Broken(done.writer->Sync()));
    done.writer.reset();
  }
  auto segment = std::make_unique<Segment>();
  segment->first = first_index;
  segment->path = env::JoinPath(dir_, SegmentFileName(first_index));
  // A no-op while a spare is ready or being made; a retry after a failed
  // preparation (e.g. a full disk), which inline mode completes right here.
  if (spare_ != nullptr) spare_->Request();
  std::optional<std::string> spare = spare_ != nullptr ? spare_->Take() : std::nullopt;
  RQ_RETURN_IF_ERROR(spare ? AdoptSpare(*spare, segment.get()) : CreateSegmentFile(segment.get()));
  dir_dirty_ = true;
  segment->size_bytes = format::kSegmentHeaderBytes;
  segment->capacity = std::max(segment->capacity, segment->size_bytes);
  auto reader = fs_->NewRandomAccessFile(segment->path);
  if (!reader.ok()) return Broken(reader.status());
  segment->reader = std::move(*reader);
  segments_.push_back(std::move(segment));
  spare_asked_for_.reset();  // a new segment, even at an index asked for before a truncation
  MaybeRequestSpare();       // for a growing segment; after a spare, once it is half full
  return Status::OK();
}

// A growing segment: created empty, then the header.
Status Wal::CreateSegmentFile(Segment* segment) {
  auto writer = fs_->NewWritableFile(segment->path, env::OpenMode::kTruncate);
  if (!writer.ok()) return Broken(writer.status());
  segment->writer = std::move(*writer);
  return Broken(segment->writer->Append(EncodeSegmentHeader({meta_.epoch, segment->first})));
}

// The header goes into the spare before the rename, so the segment's name
// never shows a file without one in the normal case. Like a created file,
// the new name is durable at the next Sync (file fdatasync, then directory
// fsync); a crash before that leaves the old name, a spare that is no longer
// all zeros, and recovery replaces it.
Status Wal::AdoptSpare(const std::string& spare_path, Segment* segment) {
  auto writer = fs_->NewWritableFileAt(spare_path, 0);
  if (!writer.ok()) return Broken(writer.status());
  segment->writer = std::move(*writer);
  RQ_RETURN_IF_ERROR(Broken(segment->writer->Append(EncodeSegmentHeader({meta_.epoch, segment->first}))));
  RQ_RETURN_IF_ERROR(Broken(fs_->RenameFile(spare_path, segment->path)));
  segment->capacity = spare_->bytes();
  return Status::OK();
}

// ---- Sync ----

SyncPlan Wal::PrepareSync() {
  SyncPlan plan;
  if (!empty()) plan.file = segments_.back()->writer;
  plan.sync_dir = dir_dirty_;
  dir_dirty_ = false;
  plan.target = last_index();
  plan.truncations = truncations_;
  return plan;
}

Status Wal::ExecuteSync(env::FileSystem* fs, const std::string& dir, const SyncPlan& plan) {
  static metrics::Histogram& latency = metrics::Exposition::Default().Histogram(
      "rqlite_log_fsync_duration_seconds", "Time to make appended log entries durable (fdatasync, and the "
      "directory's fsync after a new segment).");
  if (plan.file == nullptr && !plan.sync_dir) return Status::OK();
  const auto started = std::chrono::steady_clock::now();
  if (plan.file != nullptr) RQ_RETURN_IF_ERROR(plan.file->Sync());
  if (plan.sync_dir) RQ_RETURN_IF_ERROR(fs->SyncDir(dir));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  latency.Observe(std::chrono::duration<double>(elapsed).count());
  if (metrics::TraceRecorder* trace = metrics::ActiveTrace()) trace->Span("log", "fsync", started, elapsed);
  return Status::OK();
}

void Wal::CompleteSync(const SyncPlan& plan, const Status& status) {
  if (!status.ok()) {
    (void)Broken(status);
    return;
  }
  // A suffix truncation since the plan may have removed what it covered.
  if (plan.truncations == truncations_) durable_ = std::max(durable_, plan.target);
}

Status Wal::Sync() {
  RQ_RETURN_IF_ERROR(broken_);
  SyncPlan plan = PrepareSync();
  Status s = ExecuteSync(fs_, dir_, plan);
  CompleteSync(plan, s);
  return s;
}

}  // namespace rq::wal
