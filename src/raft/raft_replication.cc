// Log replication (§3.5, §3.6): the follower accepting appends and snapshots;
// the leader proposing, sending under etcd's flow control, and committing.
#include "raft/raft_impl.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace rq::raft {

// ---------------------------------------------------------------------------
// Replication, follower side (§3.5).

void Raft::Impl::RespondAppend(const NodeId& to, bool success, LogIndex match_or_hint, Term conflict_term,
                               uint64_t read_context) {
  Send(to, AppendResponse{success, match_or_hint, conflict_term, read_context});
}

void Raft::Impl::HandleAppend(const Message& m, const AppendRequest& req) {
  // Malformed requests (non-contiguous indexes, terms out of order) are dropped.
  Term prev_term = req.prev_log_term;
  for (size_t i = 0; i < req.entries.size(); ++i) {
    const Entry& e = req.entries[i];
    if (e.index != req.prev_log_index + (i + 1) || e.term > m.term || e.term < prev_term) {
      Log(Logger::Level::kWarn, "dropping malformed AppendRequest from {}", m.from.value());
      return;
    }
    prev_term = e.term;
  }
  LogIndex committed = log_.committed();
  LogIndex prev = req.prev_log_index;
  Term prev_log_term = req.prev_log_term;
  std::vector<Entry> entries;
  if (prev < committed) {
    // Entries up to our commit index match any leader's (§3.6.3); skip them.
    auto t = log_.term(committed);
    if (!t.ok() || req.entries.empty() || req.entries.back().index <= committed) {
      RespondAppend(m.from, true, committed, Term(0), req.read_context);
      return;
    }
    prev = committed;
    prev_log_term = *t;
    entries.assign(req.entries.begin() + static_cast<ptrdiff_t>(committed - req.prev_log_index), req.entries.end());
    // The leader's entry at `committed` must equal ours; if it does not, its
    // log disagrees with a committed entry, which Raft rules out.
    const Entry& at_commit = req.entries[committed - req.prev_log_index - 1];
    RQ_ASSERT_MSG(at_commit.term == *t, "leader's log conflicts with a committed entry");
  } else {
    entries = req.entries;
  }

  if (!log_.MatchTerm(prev, prev_log_term)) {
    LogIndex hint;
    Term conflict_term;
    if (prev > log_.last_index()) {
      hint = log_.last_index();
    } else if (log_.term(prev).ok()) {
      std::tie(hint, conflict_term) = log_.ConflictHint(prev);
    } else {
      hint = committed;
    }
    Log(Logger::Level::kDebug, "rejecting append at {} from {} (hint {} term {})", prev.value(), m.from.value(),
        hint.value(), conflict_term.value());
    RespondAppend(m.from, false, hint, conflict_term, req.read_context);
    return;
  }
  LogIndex new_last = prev + entries.size();
  if (auto conflict = log_.FindConflict(entries)) {
    RQ_ASSERT_MSG(*conflict > committed, "entry conflicts with a committed entry");
    std::vector<Entry> tail(entries.begin() + static_cast<ptrdiff_t>(*conflict - (prev + 1)), entries.end());
    AppendToLog(tail);
  }
  log_.CommitTo(std::min(req.commit, new_last));
  RespondAppend(m.from, true, new_last, Term(0), req.read_context);
}

void Raft::Impl::HandleSnapshot(const Message& m, const InstallSnapshotRequest& req) {
  const SnapshotMeta& meta = req.meta;
  if (meta.index <= log_.committed()) {
    RespondAppend(m.from, true, log_.committed(), Term(0), 0);
    return;
  }
  if (log_.MatchTerm(meta.index, meta.term)) {
    // We already hold the entries the snapshot covers: just commit them.
    log_.CommitTo(meta.index);
    RespondAppend(m.from, true, meta.index, Term(0), 0);
    return;
  }
  if (!internal::ValidMembership(meta.membership) || meta.term == Term(0) || meta.term > m.term) {
    Log(Logger::Level::kWarn, "dropping malformed InstallSnapshotRequest from {}", m.from.value());
    return;
  }
  Log(Logger::Level::kInfo, "restoring snapshot at index {} term {}", meta.index.value(), meta.term.value());
  log_.Restore(meta);
  base_ = meta.membership;
  base_index_ = meta.index;
  history_.clear();
  membership_ = base_;
  RespondAppend(m.from, true, meta.index, Term(0), 0);
}

void Raft::Impl::AppendToLog(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  if (auto truncated = log_.Append(entries)) OnTruncated(*truncated);
  OnEntriesAppended(entries);
}

// ---------------------------------------------------------------------------
// Replication, leader side (§3.5, §3.6, etcd's flow control).

Result<LogIndex> Raft::Impl::Propose(std::string data) {
  if (role_ != Role::kLeader) return Status::NotLeader(leader_.value());
  if (!transferee_.empty()) return Status::Busy("raft: leadership transfer in progress");
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + data.size() > cfg_.max_uncommitted_bytes) {
    return Status::Busy("raft: too many uncommitted bytes");
  }
  return AppendLeaderEntry(EntryType::kNormal, std::move(data));
}

Result<LogIndex> Raft::Impl::AppendLeaderEntry(EntryType type, std::string data) {
  LogIndex index = log_.last_index() + 1;
  uint64_t bytes = data.size();
  AppendToLog({Entry{term_, index, type, std::move(data)}});
  uncommitted_.emplace_back(index, bytes);
  uncommitted_bytes_ += bytes;
  for (auto& [peer, pr] : progress_) SendAppend(peer, false);
  MaybeCommit();
  return index;
}

bool Raft::Impl::SendAppend(const NodeId& to, bool allow_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  LogIndex prev = pr.next() - 1;
  auto prev_term = log_.term(prev);
  Result<std::vector<Entry>> entries = std::vector<Entry>();
  if (pr.next() <= log_.last_index()) {
    entries = log_.Entries(pr.next(), log_.last_index() + 1, cfg_.max_append_bytes);
  }
  if (!prev_term.ok() || !entries.ok()) {
    SendSnapshot(to);
    return false;
  }
  if (entries->empty() && !allow_empty) return false;
  bool had_entries = !entries->empty();
  LogIndex last = had_entries ? entries->back().index : prev;
  Send(to, AppendRequest{prev, *prev_term, std::move(*entries), log_.committed(), 0});
  pr.SentEntries(last, had_entries);
  pr.set_sent_commit(std::min(log_.committed(), last));
  return had_entries;
}

void Raft::Impl::SendHeartbeat(const NodeId& to, uint64_t read_context) {
  auto it = progress_.find(to);
  if (it == progress_.end()) return;
  // In replicate, prev = the last index sent: a follower that lost an append
  // rejects it and the leader falls back to probing (the driver need not
  // report every lost message). Otherwise prev = match, which is known to
  // agree. A compacted prev falls back to index 0, which always agrees.
  const Progress& pr = it->second;
  LogIndex prev = pr.state() == Progress::State::kReplicate ? pr.next() - 1 : pr.match();
  // Counted as told even when prev is compacted: recording 0 there made every
  // heartbeat response trigger another heartbeat, a storm without ticks.
  LogIndex told = std::min(log_.committed(), prev);
  auto t = log_.term(prev);
  if (!t.ok()) prev = LogIndex(0);
  Send(to, AppendRequest{prev, t.ok() ? *t : Term(0), {}, log_.committed(), read_context});
  it->second.set_sent_commit(told);
}

void Raft::Impl::SendSnapshot(const NodeId& to) {
  SnapshotMeta meta = storage_->snapshot();
  if (meta.index == LogIndex(0) || log_.pending_snapshot()) {
    Log(Logger::Level::kWarn, "cannot send a snapshot to {}: none stored", to.value());
    return;
  }
  Log(Logger::Level::kInfo, "sending snapshot at {} to {}", meta.index.value(), to.value());
  progress_.at(to).BecomeSnapshot(meta.index);
  Send(to, InstallSnapshotRequest{meta});
}

void Raft::Impl::SendTimeoutNow(const NodeId& to) {
  Log(Logger::Level::kInfo, "sending TimeoutNow to {}", to.value());
  Send(to, TimeoutNow{});
}

void Raft::Impl::BroadcastHeartbeat(uint64_t read_context) {
  for (auto& [peer, pr] : progress_) SendHeartbeat(peer, read_context);
}

void Raft::Impl::HandleAppendResponse(const Message& m, const AppendResponse& resp) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.set_recent_active(true);
  if (resp.read_context != 0) AckRead(m.from, resp.read_context);

  if (!resp.success) {
    if (pr.state() == Progress::State::kSnapshot) return;
    // §3.5 fast backtracking: skip the follower's whole conflicting term, or
    // jump to its last index when its log is short.
    LogIndex next = resp.match_or_hint + 1;
    if (resp.conflict_term != Term(0)) {
      LogIndex from = std::min(pr.next() - 1, log_.last_index());
      auto ours = log_.LastIndexOfTerm(resp.conflict_term, from);
      next = ours ? *ours + 1 : resp.match_or_hint;
    }
    if (pr.state() == Progress::State::kReplicate) pr.BecomeProbe();
    pr.DecreaseTo(next);
    SendAppend(m.from, true);
    return;
  }
  if (resp.match_or_hint > log_.last_index()) return;  // malformed
  if (pr.MaybeUpdate(resp.match_or_hint)) {
    if (pr.state() == Progress::State::kProbe) {
      pr.BecomeReplicate();
    } else if (pr.state() == Progress::State::kSnapshot && pr.match() >= pr.pending_snapshot()) {
      pr.BecomeReplicate();
    }
    if (MaybeCommit() && role_ != Role::kLeader) return;
    if (m.from == transferee_ && pr.match() == log_.last_index()) SendTimeoutNow(m.from);
  } else {
    pr.OnResponse();
  }
  // Fill the pipeline; bounded by the window.
  // A probe with nothing new still needs an empty append to find the match.
  bool sent = false;
  for (uint32_t i = 0; i <= cfg_.max_inflight_appends; ++i) {
    bool probe_empty = pr.state() == Progress::State::kProbe && pr.match() + 1 < pr.next();
    size_t before = msgs_.size();
    bool more = SendAppend(m.from, probe_empty);
    sent = sent || msgs_.size() > before;
    if (!more) break;
  }
  // A follower that just caught up may not know the commit index yet.
  if (!sent && pr.sent_commit() < std::min(log_.committed(), pr.match())) SendHeartbeat(m.from, 0);
}

LogIndex Raft::Impl::QuorumMatchIndex() const {
  std::vector<LogIndex> matches;
  for (const NodeId& v : membership_.voters) {
    if (v == cfg_.id) {
      // Our own entries count only once persisted (acknowledged via Advance).
      matches.push_back(log_.stable_last_index());
    } else {
      auto it = progress_.find(v);
      matches.push_back(it == progress_.end() ? LogIndex(0) : it->second.match());
    }
  }
  if (matches.empty()) return LogIndex(0);
  std::sort(matches.begin(), matches.end(), std::greater<>());
  return matches[internal::Quorum(matches.size()) - 1];
}

bool Raft::Impl::MaybeCommit() {
  if (role_ != Role::kLeader) return false;
  LogIndex index = QuorumMatchIndex();
  if (index <= log_.committed()) return false;
  // §3.6.2: only entries of the current term commit by counting replicas.
  auto t = log_.term(index);
  if (!t.ok() || *t != term_) return false;
  log_.CommitTo(index);
  OnCommitAdvanced();
  return true;
}

void Raft::Impl::OnCommitAdvanced() {
  LogIndex committed = log_.committed();
  while (!uncommitted_.empty() && uncommitted_.front().first <= committed) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  ReleaseWaitingReads();
  // Tell followers the new commit index; caught-up ones get a heartbeat (a
  // probing peer learns it when its probe is answered).
  for (auto& [peer, pr] : progress_) {
    if (!SendAppend(peer, false) && pr.state() == Progress::State::kReplicate) SendHeartbeat(peer, 0);
  }
  if (!membership_.IsVoter(cfg_.id) && LastConfigIndex() <= committed) {
    // §4.2.2: a leader removed from the configuration steps down once the
    // change is committed (after telling the others it is).
    Log(Logger::Level::kInfo, "stepping down: removed from the configuration");
    BecomeFollower(term_, NodeId());
  }
}

bool Raft::Impl::QuorumActive() const {
  size_t active = 0;
  for (const NodeId& v : membership_.voters) {
    if (v == cfg_.id) {
      ++active;
      continue;
    }
    auto it = progress_.find(v);
    if (it != progress_.end() && it->second.recent_active()) ++active;
  }
  return active >= internal::Quorum(membership_.voters.size());
}

bool Raft::Impl::CommittedInCurrentTerm() const {
  auto t = log_.term(log_.committed());
  return t.ok() && *t == term_;
}

// ---------------------------------------------------------------------------
// Driver reports on peers (snapshot outcome, unreachable).

void Raft::Impl::ReportSnapshot(const NodeId& peer, bool success) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it == progress_.end() || it->second.state() != Progress::State::kSnapshot) return;
  Progress& pr = it->second;
  if (!success) {
    // Retry from scratch: the next probe finds the entry still compacted.
    pr.BecomeProbe();
    pr.DecreaseTo(pr.match() + 1);
  } else {
    pr.BecomeProbe();  // next = pending + 1; the peer's ack moves it on
  }
  Log(Logger::Level::kInfo, "snapshot to {} {}", peer.value(), success ? "done" : "failed");
}

void Raft::Impl::ReportUnreachable(const NodeId& peer) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(peer);
  if (it != progress_.end() && it->second.state() == Progress::State::kReplicate) it->second.BecomeProbe();
}

}  // namespace rq::raft
