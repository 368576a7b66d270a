// Dropping entries from a Wal: suffix truncation (Raft conflicts), prefix
// compaction and Reset to a snapshot, each durable when it returns; and the
// hard state, the other side file written atomically like wal.meta.
#include "wal/wal.h"

#include <algorithm>

#include "wal/wal_format.h"
#include "wal/wal_internal.h"

namespace rq::wal {

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
