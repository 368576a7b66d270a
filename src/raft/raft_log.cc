// RaftLog: stable storage + unstable tail.
#include "raft/raft_log.h"

#include <algorithm>

namespace rq::raft {

RaftLog::RaftLog(LogStorage* storage, LogIndex committed, LogIndex applied) : storage_(storage) {
  offset_ = storage_->last_index() + 1;
  in_progress_ = offset_ - 1;
  LogIndex snap = storage_->snapshot().index;
  committed_ = std::max(committed, snap);
  applied_ = std::max(applied, snap);
  RQ_ASSERT_MSG(committed_ <= last_index(), "stored commit index beyond the stored log");
  RQ_ASSERT_MSG(applied_ <= committed_, "applied index beyond commit index");
  applying_ = applied_;
}

LogIndex RaftLog::first_index() const {
  if (snapshot_) return snapshot_->index + 1;
  return storage_->first_index();
}

LogIndex RaftLog::last_index() const {
  if (!unstable_.empty()) return unstable_.back().index;
  if (snapshot_) return snapshot_->index;
  return offset_ - 1;
}

Term RaftLog::last_term() const {
  auto t = term(last_index());
  RQ_ASSERT_MSG(t.ok(), "term of the last index unavailable");
  return *t;
}

Result<Term> RaftLog::term(LogIndex index) const {
  if (index == LogIndex(0)) return Term(0);
  if (!unstable_.empty() && index >= offset_) {
    if (index > unstable_.back().index) return Status::NotFound("beyond last index");
    return unstable_[index - offset_].term;
  }
  if (snapshot_) {
    if (index == snapshot_->index) return snapshot_->term;
    return Status::NotFound(index < snapshot_->index ? "compacted" : "beyond last index");
  }
  if (index >= offset_) return Status::NotFound("beyond last index");
  return storage_->term(index);
}

bool RaftLog::MatchTerm(LogIndex index, Term t) const {
  auto got = term(index);
  return got.ok() && *got == t;
}

Result<std::vector<Entry>> RaftLog::Entries(LogIndex low, LogIndex high, uint64_t max_bytes) const {
  if (low > high || high > last_index() + 1) return Status::InvalidArgument("entries range out of bounds");
  if (low < first_index()) return Status::NotFound("compacted");
  std::vector<Entry> out;
  if (low == high) return out;
  uint64_t bytes = 0;
  if (low < offset_ && !snapshot_) {
    auto stable = storage_->entries(low, std::min(high, offset_), max_bytes);
    if (!stable.ok()) return stable.status();
    for (Entry& e : *stable) bytes += e.data.size();
    out = std::move(*stable);
    if (out.empty() || out.back().index + 1 < std::min(high, offset_)) return out;  // byte limit hit
  }
  LogIndex from = std::max(low, offset_);
  for (LogIndex i = from; i < high; ++i) {
    const Entry& e = unstable_[i - offset_];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

bool RaftLog::IsUpToDate(LogIndex index, Term t) const {
  Term mine = last_term();
  return t > mine || (t == mine && index >= last_index());
}

std::optional<LogIndex> RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return std::nullopt;
}

std::optional<LogIndex> RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return std::nullopt;
  LogIndex start = entries.front().index;
  RQ_ASSERT_MSG(start > committed_, "overwriting a committed entry");
  RQ_ASSERT_MSG(start <= last_index() + 1, "append leaves a gap");
  std::optional<LogIndex> truncated;
  if (start <= last_index()) truncated = start;
  if (unstable_.empty() || start < offset_) {
    // Everything from `start` on now lives in the unstable tail, shadowing
    // whatever the storage still holds there.
    unstable_.clear();
    offset_ = start;
  } else {
    unstable_.resize(start - offset_);
  }
  if (in_progress_ >= start) in_progress_ = start - 1;
  for (const Entry& e : entries) {
    RQ_ASSERT(e.index == offset_ + unstable_.size());
    unstable_.push_back(e);
  }
  return truncated;
}

std::pair<LogIndex, Term> RaftLog::ConflictHint(LogIndex index) const {
  auto t = term(index);
  RQ_ASSERT(t.ok());
  LogIndex i = index;
  LogIndex floor = std::max(committed_, first_index());
  while (i > floor) {
    auto prev = term(i - 1);
    if (!prev.ok() || *prev != *t) break;
    --i;
  }
  return {i, *t};
}

std::optional<LogIndex> RaftLog::LastIndexOfTerm(Term t, LogIndex from) const {
  LogIndex i = std::min(from, last_index());
  for (;;) {
    auto got = term(i);
    if (!got.ok() || *got < t) return std::nullopt;
    if (*got == t) return i;
    if (i == LogIndex(0)) return std::nullopt;
    --i;
  }
}

void RaftLog::CommitTo(LogIndex index) {
  if (index <= committed_) return;
  RQ_ASSERT_MSG(index <= last_index(), "commit index beyond the last index");
  committed_ = index;
}

void RaftLog::Restore(const SnapshotMeta& meta) {
  RQ_ASSERT(meta.index > committed_);
  snapshot_ = meta;
  snapshot_in_progress_ = false;
  unstable_.clear();
  offset_ = meta.index + 1;
  in_progress_ = meta.index;
  committed_ = meta.index;
  applying_ = std::max(applying_, meta.index);
}

bool RaftLog::HasUnstableToPersist() const {
  return !unstable_.empty() && unstable_.back().index > in_progress_;
}

std::vector<Entry> RaftLog::TakeUnstableToPersist() {
  std::vector<Entry> out;
  if (!HasUnstableToPersist()) return out;
  LogIndex from = std::max(in_progress_ + 1, offset_);
  out.assign(unstable_.begin() + static_cast<ptrdiff_t>(from - offset_), unstable_.end());
  in_progress_ = unstable_.back().index;
  return out;
}

SnapshotMeta RaftLog::TakeSnapshotToPersist() {
  RQ_ASSERT(HasSnapshotToPersist());
  snapshot_in_progress_ = true;
  return *snapshot_;
}

// A pending snapshot goes out in the same Ready, ahead of these entries, and
// the driver installs it first; so entries after it may be applied.
bool RaftLog::HasCommittedToApply() const { return committed_ > applying_; }

std::vector<Entry> RaftLog::TakeCommittedToApply(uint64_t max_bytes) {
  std::vector<Entry> out;
  if (!HasCommittedToApply()) return out;
  auto got = Entries(applying_ + 1, committed_ + 1, max_bytes);
  RQ_ASSERT_MSG(got.ok(), "committed entries unavailable");
  out = std::move(*got);
  if (!out.empty()) applying_ = out.back().index;
  return out;
}

void RaftLog::StableTo(LogIndex index, Term t) {
  if (unstable_.empty() || index < offset_ || index > unstable_.back().index) return;
  if (unstable_[index - offset_].term != t) return;  // overwritten meanwhile
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<ptrdiff_t>(index - offset_ + 1));
  offset_ = index + 1;
}

void RaftLog::StableSnapshot(const SnapshotMeta& meta) {
  if (snapshot_ && *snapshot_ == meta) {
    snapshot_.reset();
    snapshot_in_progress_ = false;
  }
  applied_ = std::max(applied_, meta.index);
  applying_ = std::max(applying_, applied_);
}

void RaftLog::AppliedTo(LogIndex index) {
  RQ_ASSERT_MSG(index <= committed_, "applied beyond commit");
  applied_ = std::max(applied_, index);
}

LogIndex RaftLog::stable_last_index() const {
  if (snapshot_) return LogIndex(0);  // the new log is not durable yet
  if (!unstable_.empty()) return offset_ - 1;
  return last_index();
}

}  // namespace rq::raft
