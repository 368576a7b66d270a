// Progress: the leader's view of one peer's log (etcd's tracker.Progress),
// with the probe / replicate / snapshot flow-control states:
//
//   probe     --append acked-->        replicate
//   replicate --append rejected/unreachable--> probe
//   any       --next entry compacted-->  snapshot
//   snapshot  --snapshot reported / acked--> probe or replicate
//
// In probe at most one AppendRequest is in flight (then `paused`); in
// replicate up to max_inflight_appends are pipelined, each remembered by the
// last index it carried. Internal to the core. Thread-safety: none.
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>

#include "base/assert.h"
#include "base/strong_types.h"

namespace rq::raft {

class Progress {
 public:
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  Progress(LogIndex next, uint32_t max_inflight) : next_(next), max_inflight_(max_inflight) {
    RQ_ASSERT(next > LogIndex(0));
    RQ_ASSERT(max_inflight > 0);
  }

  State state() const { return state_; }
  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  LogIndex pending_snapshot() const { return pending_snapshot_; }
  bool recent_active() const { return recent_active_; }
  // The highest commit index the peer can have learned from our messages.
  LogIndex sent_commit() const { return sent_commit_; }
  void set_sent_commit(LogIndex commit) { sent_commit_ = std::max(sent_commit_, commit); }
  void set_recent_active(bool active) { recent_active_ = active; }

  // True when no AppendRequest may be sent now.
  bool IsPaused() const {
    switch (state_) {
      case State::kProbe: return probe_sent_;
      case State::kReplicate: return inflight_.size() >= max_inflight_;
      case State::kSnapshot: return true;
    }
    return true;
  }

  void BecomeProbe() {
    if (state_ == State::kSnapshot) {
      next_ = std::max(match_ + 1, pending_snapshot_ + 1);
    } else {
      next_ = match_ + 1;
    }
    Reset(State::kProbe);
  }
  void BecomeReplicate() {
    next_ = match_ + 1;
    Reset(State::kReplicate);
  }
  void BecomeSnapshot(LogIndex snapshot_index) {
    Reset(State::kSnapshot);
    pending_snapshot_ = snapshot_index;
  }

  // An AppendRequest carrying entries up to `last` (or none) was sent.
  void SentEntries(LogIndex last, bool had_entries) {
    if (state_ == State::kReplicate) {
      if (had_entries) {
        RQ_ASSERT(last >= next_);
        next_ = last + 1;
        inflight_.push_back(last);
      }
    } else if (state_ == State::kProbe) {
      probe_sent_ = true;
    }
    Check();
  }
  // The peer acknowledged everything up to `index`; false when stale.
  bool MaybeUpdate(LogIndex index) {
    bool updated = false;
    if (index > match_) {
      match_ = index;
      updated = true;
      probe_sent_ = false;
    }
    if (next_ < match_ + 1) next_ = match_ + 1;
    while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
    Check();
    return updated;
  }
  // A rejection suggested `next`; moves back without passing match.
  void DecreaseTo(LogIndex next) {
    next_ = std::max(match_ + 1, std::min(next, next_));
    probe_sent_ = false;
    Check();
  }
  // Any response unpauses a probe; a full pipeline drops its oldest entry so
  // that lost appends cannot stall replication forever.
  void OnResponse() {
    probe_sent_ = false;
    if (state_ == State::kReplicate && inflight_.size() >= max_inflight_) inflight_.pop_front();
  }

 private:
  void Reset(State state) {
    state_ = state;
    probe_sent_ = false;
    pending_snapshot_ = LogIndex(0);
    inflight_.clear();
    Check();
  }
  void Check() const {
    RQ_ASSERT_MSG(next_ > match_, "progress next must exceed match");
    RQ_ASSERT(inflight_.size() <= max_inflight_);
  }

  State state_ = State::kProbe;
  LogIndex match_;
  LogIndex next_;
  LogIndex pending_snapshot_;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  LogIndex sent_commit_;
  uint32_t max_inflight_;
  std::deque<LogIndex> inflight_;  // last index of each in-flight append, ascending
};

}  // namespace rq::raft
