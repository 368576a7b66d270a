// Opening a Wal: recovery turns the directory into the in-memory index
// (drops torn tails and stale segments, refuses real damage), and the reads
// that index serves.
#include "wal/wal.h"

#include <algorithm>

#include "base/logging.h"
#include "wal/wal_format.h"
#include "wal/wal_internal.h"

namespace rq::wal {

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
    MaybeRequestSpare();
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

// Overwrites [from, to) with zeros, durably.
Status Wal::ZeroRange(const std::string& path, uint64_t from, uint64_t to) {
  auto writer = fs_->NewWritableFileAt(path, from);
  if (!writer.ok()) return writer.status();
  RQ_RETURN_IF_ERROR((*writer)->Append(std::string(static_cast<size_t>(to - from), '\0')));
  RQ_RETURN_IF_ERROR((*writer)->Sync());
  return (*writer)->Close();
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

}  // namespace rq::wal
