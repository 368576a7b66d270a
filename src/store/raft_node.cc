#include "store/raft_node.h"

#include <algorithm>

#include "base/logging.h"
#include "base/thread_name.h"
#include "store/store_metrics.h"

namespace rq::store {

RaftNode::RaftNode(const Options& options, LogPersister* persister, Transport* transport,
                   Applier* applier, raft::Logger* logger)
    : options_(options),
      persister_(persister),
      transport_(transport),
      applier_(applier),
      random_(options.seed),
      raft_(std::make_unique<raft::Raft>(options.raft, persister->storage(), &random_, logger)) {}

RaftNode::~RaftNode() { Stop(); }

Status RaftNode::Bootstrap(const std::vector<raft::ConfigChange>& members) {
  RQ_ASSERT(!thread_.joinable());
  return raft_->Bootstrap(members);
}

void RaftNode::Start() {
  RQ_ASSERT(!thread_.joinable());
  std::lock_guard core(core_mutex_);
  PublishState();
  thread_ = std::thread([this] {
    NameThisThread("raft-loop");
    Run();
  });
}

void RaftNode::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RaftNode::Enqueue(std::function<void(raft::Raft&)> fn) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || inbox_.size() >= options_.inbox_capacity) return false;
    inbox_.push_back(std::move(fn));
  }
  wake_.notify_one();
  return true;
}

bool RaftNode::Post(std::function<void(raft::Raft&)> fn) { return Enqueue(std::move(fn)); }

void RaftNode::Propose(std::string data, Appended on_appended) {
  auto shared_cb = std::make_shared<Appended>(std::move(on_appended));
  bool queued = Enqueue([data = std::move(data), shared_cb](raft::Raft& raft) mutable {
    Result<LogIndex> index = raft.Propose(std::move(data));
    if (!index.ok()) {
      (*shared_cb)(index.status());
      return;
    }
    (*shared_cb)(std::make_pair(*index, raft.term()));
  });
  if (!queued) (*shared_cb)(Status::Busy("raft inbox full or node stopping"));
}

void RaftNode::ProposeConfigChange(raft::ConfigChange change, Appended on_appended) {
  auto shared_cb = std::make_shared<Appended>(std::move(on_appended));
  bool queued = Enqueue([change = std::move(change), shared_cb](raft::Raft& raft) {
    Result<LogIndex> index = raft.ProposeConfigChange(change);
    if (!index.ok()) {
      (*shared_cb)(index.status());
      return;
    }
    (*shared_cb)(std::make_pair(*index, raft.term()));
  });
  if (!queued) (*shared_cb)(Status::Busy("raft inbox full or node stopping"));
}

void RaftNode::ReadIndex(std::function<void(Result<LogIndex>)> on_confirmed) {
  auto shared_cb = std::make_shared<std::function<void(Result<LogIndex>)>>(std::move(on_confirmed));
  bool queued = Enqueue([this, shared_cb](raft::Raft& raft) {
    uint64_t read_id = next_read_id_++;
    Status status = raft.ReadIndex(read_id);
    if (!status.ok()) {
      (*shared_cb)(status);
      return;
    }
    pending_reads_.emplace(read_id, std::move(*shared_cb));
  });
  if (!queued) (*shared_cb)(Status::Busy("raft inbox full or node stopping"));
}

void RaftNode::StepNow(raft::Raft& raft, const raft::Message& message) {
  raft.Step(message);
  if (message.from == raft.leader()) {
    last_leader_contact_ns_.store(Clock::now().time_since_epoch().count());
  }
}

void RaftNode::Step(raft::Message message) {
  Enqueue([this, message = std::move(message)](raft::Raft& raft) { StepNow(raft, message); });
}

std::chrono::steady_clock::time_point RaftNode::last_leader_contact() const {
  if (is_leader()) return std::chrono::steady_clock::now();
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_leader_contact_ns_.load()));
}

void RaftNode::Campaign() {
  Enqueue([](raft::Raft& raft) { raft.Campaign(); });
}

void RaftNode::TransferLeadership(NodeId target, std::function<void(Status)> done) {
  auto shared_cb = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool queued = Enqueue([target = std::move(target), shared_cb](raft::Raft& raft) {
    (*shared_cb)(raft.TransferLeadership(target));
  });
  if (!queued) (*shared_cb)(Status::Busy("raft inbox full or node stopping"));
}

void RaftNode::ReportSnapshot(NodeId peer, bool success) {
  Enqueue([peer = std::move(peer), success](raft::Raft& raft) { raft.ReportSnapshot(peer, success); });
}

void RaftNode::ReportUnreachable(NodeId peer) {
  Enqueue([peer = std::move(peer)](raft::Raft& raft) { raft.ReportUnreachable(peer); });
}

void RaftNode::Compact(LogIndex index, uint64_t trailing_entries, std::function<void(Status)> done) {
  auto shared_cb = std::make_shared<std::function<void(Status)>>(std::move(done));
  bool queued = Enqueue([index, trailing_entries, shared_cb](raft::Raft& raft) {
    (*shared_cb)(raft.Compact(index, trailing_entries));
  });
  if (!queued) (*shared_cb)(Status::Busy("raft inbox full or node stopping"));
}

bool RaftNode::TEST_WaitUntilLoopSleeps() const {
  for (int i = 0; i < 10000; ++i) {
    {
      std::lock_guard lock(mutex_);
      if (loop_deadline_ != Clock::time_point::max() && inbox_.empty()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

NodeState RaftNode::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

bool RaftNode::is_leader() const {
  std::lock_guard lock(mutex_);
  return state_.role == raft::Role::kLeader;
}

void RaftNode::PublishState() {
  NodeState state;
  state.role = raft_->role();
  state.term = raft_->term();
  state.leader = raft_->leader();
  state.commit = raft_->commit_index();
  state.last_index = raft_->last_index();
  state.last_term = raft_->last_term();
  state.membership = raft_->membership();
  std::lock_guard lock(mutex_);
  state_ = std::move(state);
}

RaftNode::Clock::time_point RaftNode::NextWakeup() const {
  return held_notices_.empty() ? next_tick_ : std::min(next_tick_, held_deadline_);
}

bool RaftNode::RunRound(std::unique_lock<std::mutex>& core, bool with_tick) {
  RQ_ASSERT(core.owns_lock());
  std::deque<std::function<void(raft::Raft&)>> batch;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    batch.swap(inbox_);
  }
  // Every input that arrived while the previous Ready was being persisted
  // is stepped before the next Ready: this is what batches many proposals
  // into one fsync.
  for (auto& fn : batch) fn(*raft_);
  // The inputs' effects first, then the tick's: a Ready made only of
  // inputs may hold back commit notifications (see ProcessReady), and the
  // tick's heartbeats then carry the commit index.
  while (raft_->HasReady()) ProcessReady(ReadyOrigin::kInputs);
  auto now = Clock::now();
  if (with_tick) {
    for (int i = 0; now >= next_tick_ && i < 100; ++i) {  // bounded catch-up after a stall
      raft_->Tick();
      next_tick_ += options_.tick;
    }
    if (now >= next_tick_) next_tick_ = now + options_.tick;
    while (raft_->HasReady()) ProcessReady(ReadyOrigin::kTick);
  }
  if (!held_notices_.empty() && now >= held_deadline_) FlushHeldNotices();
  PublishState();
  return true;
}

void RaftNode::Run() {
  std::unique_lock core(core_mutex_);
  next_tick_ = Clock::now() + options_.tick;
  for (;;) {
    const Clock::time_point wakeup = NextWakeup();
    core.unlock();
    {
      std::unique_lock lock(mutex_);
      // A round run elsewhere since this one may have moved it earlier
      // (held notices), and may do so while this thread waits.
      loop_deadline_ = std::min(loop_deadline_, wakeup);
      while (!stopping_ && inbox_.empty() && Clock::now() < loop_deadline_) {
        wake_.wait_until(lock, loop_deadline_);
      }
      loop_deadline_ = Clock::time_point::max();  // awake: nobody need wake this thread
    }
    core.lock();
    if (!RunRound(core, /*with_tick=*/true)) break;
  }
  // Inputs that arrived after the last round still owe their callers an
  // answer: run them (proposals get an index that the store then fails as
  // aborted; reads are failed below), but process no further Ready.
  std::deque<std::function<void(raft::Raft&)>> rest;
  {
    std::lock_guard lock(mutex_);
    rest.swap(inbox_);
  }
  for (auto& fn : rest) fn(*raft_);
  FailPendingReads(Status::Aborted("node stopping"));
}

void RaftNode::StepOnCaller(std::vector<raft::Message> messages) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    for (raft::Message& message : messages) {
      RQ_ASSERT(std::holds_alternative<raft::AppendRequest>(message.body) ||
                std::holds_alternative<raft::AppendResponse>(message.body));
      // Past the inbox bound the message is dropped, as Step would: Raft
      // resends what a lost message carried.
      if (inbox_.size() >= options_.inbox_capacity) break;
      inbox_.push_back([this, message = std::move(message)](raft::Raft& raft) { StepNow(raft, message); });
    }
  }
  std::unique_lock core(core_mutex_, std::try_to_lock);
  if (!core.owns_lock()) {
    // The holder may be finishing its round without seeing these: the loop
    // thread takes them once the core is free.
    wake_.notify_one();
    return;
  }
  if (!RunRound(core, /*with_tick=*/false)) return;
  const Clock::time_point wakeup = NextWakeup();
  bool wake_loop = false;
  {
    std::lock_guard lock(mutex_);
    // Inputs that arrived during the round, or a held notice due before
    // the loop thread's deadline, need the loop thread.
    wake_loop = !inbox_.empty() || wakeup < loop_deadline_;
    if (wakeup < loop_deadline_) loop_deadline_ = wakeup;
  }
  core.unlock();
  if (wake_loop) wake_.notify_one();
}

void RaftNode::ProcessReady(ReadyOrigin origin) {
  raft::Ready ready = raft_->GetReady();
  if (ready.soft_state) HandleSoftState(*ready.soft_state);
  // A new term in which this node votes for itself is an election it
  // started (a timed-out one is followed by another with the role
  // unchanged; a lone voter wins in the same step).
  if (ready.hard_state && ready.hard_state->vote == options_.raft.id && ready.hard_state->term > election_term_) {
    election_term_ = ready.hard_state->term;
    Series().elections.Add();
  }
  // A leader may replicate entries before they are durable locally (thesis
  // 10.2.1): the core counts the leader's own copy toward commit only after
  // Advance. So its appends go out now and the followers' fsyncs overlap the
  // leader's. Everything else (votes, append responses) waits for the fsync.
  if (role_ == raft::Role::kLeader) {
    std::vector<raft::Message> appends;
    std::vector<raft::Message> rest;
    const LogIndex last = raft_->last_index();
    for (raft::Message& message : ready.messages) {
      if (origin == ReadyOrigin::kInputs && IsCommitNotice(message, last)) {
        if (held_notices_.empty()) held_deadline_ = std::chrono::steady_clock::now() + options_.commit_notice_delay;
        held_notices_.insert_or_assign(message.to, std::move(message));
        continue;
      }
      if (std::holds_alternative<raft::AppendRequest>(message.body)) {
        held_notices_.erase(message.to);  // this one carries the commit index
        appends.push_back(std::move(message));
      } else {
        rest.push_back(std::move(message));
      }
    }
    if (!appends.empty()) transport_->Send(std::move(appends));
    ready.messages = std::move(rest);
  }
  // Committed entries are durable on a quorum already, so applying them need
  // not wait for this Ready's fsync (which covers newer entries): the apply
  // thread and the clients' answers overlap the disk. A received snapshot
  // keeps the strict order (install, then apply, after persisting).
  // A membership change may be applied and answered (/remove, /join) before
  // this round ends: publish the state first, so a caller that was told
  // "done" never reads the old membership.
  for (const raft::Entry& entry : ready.committed_entries) {
    if (entry.type == raft::EntryType::kConfigChange) {
      PublishState();
      break;
    }
  }
  const bool apply_early = !ready.snapshot && !ready.committed_entries.empty();
  if (apply_early) applier_->Enqueue(ready.committed_entries);
  Status persisted = persister_->Persist(ready);
  // The log could not be made durable: continuing could acknowledge a write
  // that a crash then loses (invariant 1). Stop the process.
  RQ_ASSERT_MSG(persisted.ok(), persisted.ToString().c_str());
  if (persist_observer_ && (!ready.entries.empty() || ready.membership)) {
    // A configuration takes effect when its entry is appended (§4.1), before
    // it commits: report the core's current membership then, so the driver
    // can reach a node being added (whose ack the commit may need).
    bool config_appended = false;
    for (const raft::Entry& entry : ready.entries) config_appended |= entry.type == raft::EntryType::kConfigChange;
    std::optional<raft::Membership> membership = ready.membership;
    if (config_appended) membership = raft_->membership();
    persist_observer_(ready.entries, membership);
  }
  if (!ready.messages.empty()) transport_->Send(std::move(ready.messages));
  if (ready.snapshot) applier_->InstallSnapshot(*ready.snapshot);
  if (!apply_early && !ready.committed_entries.empty()) applier_->Enqueue(ready.committed_entries);
  for (const raft::ReadState& read : ready.read_states) {
    auto it = pending_reads_.find(read.read_id);
    if (it == pending_reads_.end()) continue;
    auto cb = std::move(it->second);
    pending_reads_.erase(it);
    cb(read.index);
  }
  raft_->Advance(ready);
}

bool RaftNode::IsCommitNotice(const raft::Message& message, LogIndex last_index) {
  // An empty append whose prev is the leader's last entry tells a follower
  // that was already sent everything only the new commit index. The next
  // append or tick heartbeat carries that index too (rqlite's Raft also
  // lets followers learn commits that way, within its CommitTimeout), so
  // such a notice waits up to commit_notice_delay for one: sent at once it
  // would cost every follower a wakeup and an apply while the leader
  // answers its client. Heartbeats confirming a read are never held back.
  const auto* append = std::get_if<raft::AppendRequest>(&message.body);
  return append != nullptr && append->entries.empty() && append->read_context == 0 &&
         append->prev_log_index == last_index;
}

void RaftNode::FlushHeldNotices() {
  std::vector<raft::Message> notices;
  for (auto& [peer, message] : held_notices_) notices.push_back(std::move(message));
  held_notices_.clear();
  transport_->Send(std::move(notices));
}

void RaftNode::HandleSoftState(const raft::SoftState& soft) {
  if (role_ == raft::Role::kLeader && soft.role != raft::Role::kLeader) {
    FailPendingReads(Status::NotLeader("leadership lost"));
    held_notices_.clear();  // the next leader tells the followers
  }
  if (soft.role != role_) {
    RQ_LOG_INFO("raft: role {} -> {} (leader '{}')", static_cast<int>(role_), static_cast<int>(soft.role),
                soft.leader.value());
  }
  role_ = soft.role;
  // Every change of the known leader, to none included (rqlite counts
  // hashicorp/raft's LeaderObservations).
  if (soft.leader != observed_leader_) {
    observed_leader_ = soft.leader;
    StoreCounters().leader_changes_observed.Add();
    Series().leader_changes.Add();
  }
}

void RaftNode::FailPendingReads(const Status& status) {
  auto reads = std::move(pending_reads_);
  pending_reads_.clear();
  for (auto& [id, cb] : reads) cb(status);
}

}  // namespace rq::store
