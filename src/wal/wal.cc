#include "wal/wal.h"

#include <algorithm>

#include "base/logging.h"
#include "wal/wal_format.h"

namespace rq::wal {

struct Wal::Segment {
  LogIndex first;
  std::string path;
  std::shared_ptr<env::WritableFile> writer;  // the last segment only
  std::unique_ptr<env::RandomAccessFile> reader;
  std::vector<RecordLocation> records;        // records[i] holds index first + i
  uint64_t size_bytes = 0;                    // bytes written, header included (the logical size)
  // The file's size: bytes in [size_bytes, capacity) are zeros (preallocated).
  uint64_t capacity = 0;

  LogIndex last() const {
    RQ_ASSERT(!records.empty());
    return first + (records.size() - 1);
  }
};

Status Options::Validate() const {
  if (segment_bytes_max < format::kSegmentHeaderBytes + format::kRecordHeaderBytes) {
    return Status::InvalidArgument("wal: segment_bytes_max too small");
  }
  return Status::OK();
}

Wal::Wal(env::FileSystem* fs, std::string dir, Options options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

Wal::~Wal() = default;

bool Wal::TEST_WaitForSpare() {
  if (spare_ == nullptr) return false;
  spare_->WaitIdle();
  return spare_->ready();
}

Result<std::unique_ptr<Wal>> Wal::Open(env::FileSystem* fs, std::string dir, Options options) {
  RQ_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Wal> wal(new Wal(fs, std::move(dir), options));
  Status s = wal->Recover();
  if (!s.ok()) return s.WithContext("wal open " + wal->dir_);
  return wal;
}

LogIndex Wal::first_index() const {
  if (empty()) return floor_;
  return std::max(floor_, segments_.front()->first);
}

LogIndex Wal::last_index() const {
  if (!empty()) return segments_.back()->last();
  return floor_ == LogIndex(0) ? LogIndex(0) : floor_ - 1;
}

Status Wal::Broken(Status status) {
  if (!status.ok() && broken_.ok()) broken_ = status;
  return status;
}

// ---- Recovery ----

Status Wal::Recover() {
  RQ_RETURN_IF_ERROR(fs_->CreateDir(dir_));
  auto names = fs_->ListDir(dir_);
  if (!names.ok()) return names.status();
  std::vector<std::pair<LogIndex, std::string>> segment_names;
  for (const std::string& name : *names) {
    if (name.ends_with(format::kTempSuffix)) {
      // An atomic replace died before its rename: the old file is intact.
      Status s = fs_->DeleteFile(env::JoinPath(dir_, name));
      if (!s.ok() && !s.IsNotFound()) return s;
    } else if (auto index = ParseSegmentFileName(name)) {
      segment_names.emplace_back(*index, name);
    }
  }
  std::sort(segment_names.begin(), segment_names.end());
  RQ_RETURN_IF_ERROR(LoadSideFiles());
  RQ_RETURN_IF_ERROR(RecoverSegments(std::move(segment_names)));
  RQ_RETURN_IF_ERROR(ApplyFloor());
  RQ_RETURN_IF_ERROR(OpenActiveWriter());
  durable_ = last_index();
  report_.segments = segments_.size();
  for (const auto& segment : segments_) report_.records += segment->records.size();
  if (options_.preallocation != Preallocation::kOff) {
    spare_ = std::make_unique<SpareFile>(fs_, dir_, options_.segment_bytes_max,
                                         options_.preallocation == Preallocation::kBackground);
    spare_->Request();
  }
  return Status::OK();
}

Status Wal::LoadSideFiles() {
  auto meta = fs_->ReadFile(env::JoinPath(dir_, std::string(format::kMetaFileName)));
  if (meta.ok()) {
    auto decoded = DecodeLogMeta(*meta);
    if (!decoded.ok()) return decoded.status();
    meta_ = *decoded;
  } else if (!meta.status().IsNotFound()) {
    return meta.status();
  }
  floor_ = meta_.floor_index;
  floor_term_ = meta_.floor_term;
  auto hard = fs_->ReadFile(env::JoinPath(dir_, std::string(format::kHardStateFileName)));
  if (hard.ok()) {
    auto decoded = DecodeHardState(*hard);
    if (!decoded.ok()) return decoded.status();
    hard_state_ = *decoded;
  } else if (!hard.status().IsNotFound()) {
    return hard.status();
  }
  return Status::OK();
}

Status Wal::RecoverSegments(std::vector<std::pair<LogIndex, std::string>> names) {
  std::vector<std::pair<std::unique_ptr<Segment>, SegmentScan>> live;
  for (size_t i = 0; i < names.size(); ++i) {
    auto segment = std::make_unique<Segment>();
    segment->first = names[i].first;
    segment->path = env::JoinPath(dir_, names[i].second);
    auto reader = fs_->NewRandomAccessFile(segment->path);
    if (!reader.ok()) return reader.status();
    segment->reader = std::move(*reader);
    auto scan = ScanSegment(*segment->reader);
    if (!scan.ok()) return scan.status();
    const SegmentHeader& header = scan->header;
    bool last_file = i + 1 == names.size();
    if (scan->header_state == HeaderState::kCorrupt && last_file) {
      auto torn = IsTornCreation(*segment, scan->file_bytes);
      if (!torn.ok()) return torn.status();
      if (*torn) scan->header_state = HeaderState::kTorn;
    }
    if (scan->header_state == HeaderState::kTorn && last_file) {
      RQ_LOG_WARN("wal: deleting {} with a torn header ({})", segment->path, scan->header_problem);
      RQ_RETURN_IF_ERROR(DeleteSegment(*segment));
      ++report_.segments_deleted;
      continue;
    }
    if (scan->header_state != HeaderState::kValid) {
      return Status::Corruption(segment->path + " at offset 0: " + scan->header_problem);
    }
    if (header.first_index != segment->first) {
      return Status::Corruption(segment->path + " at offset 24: header first index " +
                                std::to_string(header.first_index.value()) + " does not match the file name");
    }
    if (header.epoch > meta_.epoch) {
      return Status::Corruption(segment->path + " at offset 16: epoch newer than wal.meta");
    }
    if (header.epoch < meta_.epoch) {
      // Left over from before a Reset(): wal.meta already moved past it.
      RQ_RETURN_IF_ERROR(DeleteSegment(*segment));
      ++report_.segments_deleted;
      continue;
    }
    live.emplace_back(std::move(segment), std::move(*scan));
  }
  for (size_t i = 0; i < live.size(); ++i) {
    RQ_RETURN_IF_ERROR(AdoptScan(std::move(live[i].first), live[i].second, i + 1 == live.size()));
  }
  return Status::OK();
}

// A segment whose creation was cut short holds a prefix of the header it was
// meant to get, then zeros where the size reached the disk but the data did
// not. Real damage to a synced header does not look like that. The segment
// may belong to the current epoch or, when a crash hit Reset() after its
// wal.meta write made the directory durable, to the one before.
Result<bool> Wal::IsTornCreation(const Segment& segment, uint64_t file_bytes) const {
  std::string content;
  RQ_RETURN_IF_ERROR(segment.reader->Read(0, static_cast<size_t>(file_bytes), &content));
  for (uint64_t back = 0; back <= std::min<uint64_t>(meta_.epoch, 1); ++back) {
    const std::string expected = EncodeSegmentHeader({meta_.epoch - back, segment.first});
    size_t same = 0;
    while (same < content.size() && same < expected.size() && content[same] == expected[same]) ++same;
    if (same == expected.size()) continue;  // the header is whole: not a torn creation
    auto rest = content.begin() + static_cast<std::ptrdiff_t>(same);
    if (std::all_of(rest, content.end(), [](char c) { return c == 0; })) return true;
  }
  return false;
}

Status Wal::AdoptScan(std::unique_ptr<Segment> segment, const SegmentScan& scan, bool is_last) {
  segment->capacity = scan.file_bytes;
  if (scan.damaged()) {
    if (!is_last || scan.damage_is_corruption) return Status::Corruption(segment->path + ": " + scan.damage);
    uint64_t dropped = scan.nonzero_end - scan.valid_bytes;
    RQ_LOG_WARN("wal: dropping torn tail of {}: {} ({} bytes dropped)", segment->path, scan.damage, dropped);
    if (scan.nonzero_end == scan.file_bytes) {
      RQ_RETURN_IF_ERROR(fs_->Truncate(segment->path, scan.valid_bytes));
      segment->capacity = scan.valid_bytes;
    } else {
      // Zeros follow the damage: the file was preallocated. Zeroing keeps its
      // blocks, and no stale byte can later pass for a record after the new
      // ones (ftruncate would free the blocks the appends are meant to reuse).
      RQ_RETURN_IF_ERROR(ZeroRange(segment->path, scan.valid_bytes, scan.nonzero_end));
    }
    report_.tail_bytes_dropped += dropped;
    report_.tail_damage = segment->path + ": " + scan.damage;
  }
  segment->records = scan.records;
  segment->size_bytes = scan.valid_bytes;
  if (!empty() && segment->first != segments_.back()->last() + 1) {
    return Status::Corruption(segment->path + " at offset 0: missing segment, expected first index " +
                              std::to_string((segments_.back()->last() + 1).value()));
  }
  if (segment->records.empty()) {
    if (!is_last) return Status::Corruption(segment->path + " at offset 40: empty segment before the last");
    RQ_RETURN_IF_ERROR(DeleteSegment(*segment));
    ++report_.segments_deleted;
    return Status::OK();
  }
  segments_.push_back(std::move(segment));
  return Status::OK();
}

Status Wal::ApplyFloor() {
  if (floor_ == LogIndex(0)) return Status::OK();
  // Segments wholly below the floor remain when a crash hit between writing
  // wal.meta and deleting them.
  while (!empty() && segments_.front()->last() < floor_) {
    RQ_RETURN_IF_ERROR(DeleteSegment(*segments_.front()));
    segments_.erase(segments_.begin());
    ++report_.segments_deleted;
  }
  if (!empty() && segments_.front()->first > floor_) {
    return Status::Corruption(segments_.front()->path + " at offset 0: log starts at " +
                              std::to_string(segments_.front()->first.value()) + " but wal.meta floor is " +
                              std::to_string(floor_.value()));
  }
  return Status::OK();
}

Status Wal::OpenActiveWriter() {
  // Make what recovery kept (and removed) durable before anyone relies on it.
  RQ_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  if (empty()) return Status::OK();
  Segment& last = *segments_.back();
  auto size = fs_->FileSize(last.path);
  if (!size.ok()) return size.status();
  if (*size != last.capacity) return Status::Corruption(last.path + ": size changed during recovery");
  // Appends continue after the last valid record, over the zero tail if any.
  auto writer = fs_->NewWritableFileAt(last.path, last.size_bytes);
  if (!writer.ok()) return writer.status();
  RQ_RETURN_IF_ERROR((*writer)->Sync());
  last.writer = std::move(*writer);
  return Status::OK();
}

// ---- Reads ----

const Wal::Segment* Wal::FindSegment(LogIndex index) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                             [](LogIndex i, const std::unique_ptr<Segment>& s) { return i < s->first; });
  RQ_ASSERT(it != segments_.begin());
  const Segment* segment = std::prev(it)->get();
  RQ_ASSERT(index <= segment->last());
  return segment;
}

Result<Term> Wal::term_at(LogIndex index) const {
  if (!empty() && index >= first_index() && index <= last_index()) {
    const Segment* segment = FindSegment(index);
    return segment->records[index - segment->first].term;
  }
  if (floor_ > LogIndex(0) && index == floor_ - 1 && floor_term_ > Term(0)) return floor_term_;
  return Status::NotFound("wal: no term for index " + std::to_string(index.value()));
}

Result<Record> Wal::ReadOne(const Segment& segment, LogIndex index) const {
  const RecordLocation& location = segment.records[index - segment.first];
  std::string bytes;
  size_t size = static_cast<size_t>(EncodedRecordBytes(location.payload_bytes));
  RQ_RETURN_IF_ERROR(segment.reader->Read(location.offset, size, &bytes));
  std::string where = segment.path + " at offset " + std::to_string(location.offset);
  if (bytes.size() != size) return Status::Corruption(where + ": short read");
  auto record = DecodeRecord(bytes, index);
  if (!record.ok()) return record.status().WithContext(where);
  if (record->term != location.term) return Status::Corruption(where + ": term changed on disk");
  return record;
}

Result<std::vector<Record>> Wal::Read(LogIndex low, LogIndex high, uint64_t max_bytes) const {
  RQ_RETURN_IF_ERROR(broken_);
  if (low < first_index()) return Status::NotFound("wal: index " + std::to_string(low.value()) + " compacted");
  if (empty() || low >= high || high > last_index() + 1) {
    return Status::InvalidArgument("wal: bad read range [" + std::to_string(low.value()) + ", " +
                                   std::to_string(high.value()) + ")");
  }
  std::vector<Record> records;
  uint64_t bytes = 0;
  for (LogIndex index = low; index < high; ++index) {
    const Segment* segment = FindSegment(index);
    uint32_t payload_bytes = segment->records[index - segment->first].payload_bytes;
    if (!records.empty() && bytes + payload_bytes > max_bytes) break;
    if (const Record* cached = Cached(index)) {
      bytes += payload_bytes;
      records.push_back(*cached);
      continue;
    }
    auto record = ReadOne(*segment, index);
    if (!record.ok()) return record.status();
    bytes += payload_bytes;
    records.push_back(std::move(*record));
  }
  RQ_ASSERT(!records.empty());
  return records;
}

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
  return flush();
}

// A growing segment (no spare was ready when it started, or a suffix
// truncation cut its file) is left early once a spare is ready, so that a
// fresh log or a truncation does not keep paying for growing files until
// the segment fills.
bool Wal::ShouldMoveToSpare() const {
  return spare_ != nullptr && !empty() && segments_.back()->capacity < options_.segment_bytes_max &&
         spare_->ready();
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
  if (spare_ != nullptr) spare_->Request();  // the next one, off this thread unless inline
  dir_dirty_ = true;
  segment->size_bytes = format::kSegmentHeaderBytes;
  segment->capacity = std::max(segment->capacity, segment->size_bytes);
  auto reader = fs_->NewRandomAccessFile(segment->path);
  if (!reader.ok()) return Broken(reader.status());
  segment->reader = std::move(*reader);
  segments_.push_back(std::move(segment));
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

// Overwrites [from, to) with zeros, durably.
Status Wal::ZeroRange(const std::string& path, uint64_t from, uint64_t to) {
  auto writer = fs_->NewWritableFileAt(path, from);
  if (!writer.ok()) return writer.status();
  RQ_RETURN_IF_ERROR((*writer)->Append(std::string(static_cast<size_t>(to - from), '\0')));
  RQ_RETURN_IF_ERROR((*writer)->Sync());
  return (*writer)->Close();
}

Status Wal::DeleteSegment(const Segment& segment) {
  Status s = fs_->DeleteFile(segment.path);
  return s.IsNotFound() ? Status::OK() : s;
}

// REQUIRES: first_index() <= index <= last_index().
Status Wal::TruncateSuffix(LogIndex index) {
  RQ_ASSERT(!empty());
  RQ_ASSERT(index >= first_index());
  RQ_ASSERT(index <= last_index());
  UncacheFrom(index);
  // Newest first, each deletion durable before the next, so that a crash
  // leaves a shorter but contiguous log.
  while (!empty() && segments_.back()->first >= index) {
    RQ_RETURN_IF_ERROR(Broken(DeleteSegment(*segments_.back())));
    segments_.pop_back();
    RQ_RETURN_IF_ERROR(Broken(fs_->SyncDir(dir_)));
  }
  if (!empty() && segments_.back()->last() >= index) {
    Segment& segment = *segments_.back();
    size_t keep = index - segment.first;
    uint64_t offset = segment.records[keep].offset;
    segment.writer.reset();
    // ftruncate, not zeroing: one journaled size change makes the cut
    // atomic. Zeroing in place could reach the disk out of order and leave
    // a hole before an old record, which recovery must call corruption. The
    // segment grows from here on until the next spare replaces it.
    RQ_RETURN_IF_ERROR(Broken(fs_->Truncate(segment.path, offset)));
    segment.records.resize(keep);
    segment.size_bytes = offset;
    segment.capacity = offset;
  }
  if (!empty() && segments_.back()->writer == nullptr) {
    // A rolled-over segment (or the one just cut) becomes the active one again.
    Segment& segment = *segments_.back();
    auto writer = fs_->NewWritableFileAt(segment.path, segment.size_bytes);
    if (!writer.ok()) return Broken(writer.status());
    segment.writer = std::move(*writer);
  }
  durable_ = std::min(durable_, index - 1);
  ++truncations_;
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
  if (plan.file != nullptr) RQ_RETURN_IF_ERROR(plan.file->Sync());
  if (plan.sync_dir) RQ_RETURN_IF_ERROR(fs->SyncDir(dir));
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

// ---- Compaction, reset, hard state ----

Status Wal::WriteMeta(const LogMeta& meta) {
  RQ_RETURN_IF_ERROR(Broken(fs_->WriteFileAtomic(env::JoinPath(dir_, std::string(format::kMetaFileName)),
                                                 EncodeLogMeta(meta))));
  meta_ = meta;
  return Status::OK();
}

Status Wal::CompactPrefix(LogIndex through) {
  RQ_RETURN_IF_ERROR(broken_);
  if (through == LogIndex(0) || through < first_index()) return Status::OK();
  auto term = term_at(through);
  LogMeta meta = meta_;
  meta.floor_index = through + 1;
  meta.floor_term = term.ok() ? *term : Term(0);
  // wal.meta is written first: from then on recovery drops whatever lies
  // below the floor, so the deletions below need no particular order.
  RQ_RETURN_IF_ERROR(WriteMeta(meta));
  floor_ = meta.floor_index;
  floor_term_ = meta.floor_term;
  UncacheThrough(through);
  bool deleted = false;
  while (!empty() && segments_.front()->last() <= through) {
    RQ_RETURN_IF_ERROR(Broken(DeleteSegment(*segments_.front())));
    segments_.erase(segments_.begin());
    deleted = true;
  }
  if (deleted) RQ_RETURN_IF_ERROR(Broken(fs_->SyncDir(dir_)));
  if (empty()) durable_ = through;
  return Status::OK();
}

Status Wal::Reset(LogIndex snapshot_index, Term snapshot_term) {
  RQ_RETURN_IF_ERROR(broken_);
  LogMeta meta;
  meta.epoch = meta_.epoch + 1;
  meta.floor_index = snapshot_index + 1;
  meta.floor_term = snapshot_term;
  // The new epoch makes every existing segment stale at once: this write is
  // the commit point of the reset.
  RQ_RETURN_IF_ERROR(WriteMeta(meta));
  cache_.clear();
  cache_bytes_ = 0;
  for (const auto& segment : segments_) RQ_RETURN_IF_ERROR(Broken(DeleteSegment(*segment)));
  segments_.clear();
  RQ_RETURN_IF_ERROR(Broken(fs_->SyncDir(dir_)));
  dir_dirty_ = false;
  floor_ = meta.floor_index;
  floor_term_ = snapshot_term;
  durable_ = snapshot_index;
  ++truncations_;
  return Status::OK();
}

Status Wal::SaveHardState(const HardState& state) {
  RQ_RETURN_IF_ERROR(broken_);
  if (state.vote.size() > format::kVoteBytesMax) return Status::InvalidArgument("wal: vote too long");
  RQ_RETURN_IF_ERROR(Broken(fs_->WriteFileAtomic(
      env::JoinPath(dir_, std::string(format::kHardStateFileName)), EncodeHardState(state))));
  hard_state_ = state;
  return Status::OK();
}

}  // namespace rq::wal
