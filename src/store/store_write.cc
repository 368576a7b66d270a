// Store's write path: leader check, PRAGMA guard and rewriting, the proposal,
// and the writes in flight until their entry is applied, superseded or too late.
#include "store/store.h"

#include "command/codec.h"
#include "db/connection.h"
#include "store/store_internal.h"

namespace rq::store {

using internal::ErrorResponse;
using internal::SteadyClock;

void Store::Execute(command::Request request, const WriteOptions& options, Done done) {
  ProposeRequest(command::CommandType::kExecute, std::move(request), options, std::move(done));
}

void Store::ProposeRequest(command::CommandType type, command::Request request, const WriteOptions& options,
                           Done done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  // Refused requests never reach the log: the whole request fails, as a
  // 200 with "error" (API.md 2.1).
  if (Status allowed = db_->CheckAllowed(request); !allowed.ok()) {
    done(ErrorResponse(allowed.message()));
    return;
  }
  if (!options.noparse) {
    command::ProcessOptions process_options{!options.norwrandom, !options.norwtime};
    std::lock_guard lock(random_mutex_);
    Status processed =
        command::Process(&request, process_options, random_, std::chrono::system_clock::now(), &processed_texts_);
    if (!processed.ok()) {
      done(ErrorResponse(processed.message()));
      return;
    }
  }
  // Set here, on the leader, once: followers never compute their own.
  request.vm_step_budget = type == command::CommandType::kQuery ? 0 : db::VmStepBudgetFor(request.db_timeout_ns);
  command::Command command;
  command.type = type;
  command.request = std::move(request);
  Propose(std::move(command), std::move(done));
}

void Store::Propose(command::Command command, Done done) {
  std::string data = command::EncodeCommand(command);
  auto deadline = SteadyClock::now() + options_.apply_timeout;
  raft_node_->Propose(std::move(data), [this, done = std::move(done), deadline](
                                           Result<std::pair<LogIndex, Term>> appended) mutable {
    if (!appended.ok()) {
      done(appended.status());
      return;
    }
    RegisterPending(appended->first, Pending{appended->second, std::move(done), deadline});
  });
}

void Store::ProposeCdcHighWaterMark(LogIndex index, std::function<void(Status)> done) {
  if (!raft_node_->is_leader()) {
    done(Status::NotLeader("not leader"));
    return;
  }
  command::Command command;
  command.type = command::CommandType::kCdcHighWaterMark;
  command.high_water_mark = index.value();
  Propose(std::move(command), [done = std::move(done)](Result<command::Response> applied) {
    done(applied.ok() ? Status::OK() : applied.status());
  });
}

std::vector<command::RewritePreview> Store::PreviewSql(const command::Request& request,
                                                      const WriteOptions& options) {
  command::ProcessOptions process_options{!options.norwrandom, !options.norwtime};
  std::lock_guard lock(random_mutex_);
  return command::Preview(request, process_options, random_, std::chrono::system_clock::now());
}

void Store::RegisterPending(LogIndex index, Pending pending) {
  std::optional<Pending> superseded;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(index);
    if (it != pending_.end()) {
      // An entry of an older term was appended at this index and then
      // truncated: its outcome is unknown, and the new one must be tracked.
      superseded = std::move(it->second);
      it->second = std::move(pending);
    } else {
      pending_.emplace(index, std::move(pending));
    }
  }
  if (superseded) superseded->done(Status::UnknownOutcome("leadership changed before the write committed"));
}

void Store::CompletePending(const raft::Entry& entry, std::optional<command::Response> response) {
  std::vector<Pending> superseded;
  std::optional<Pending> mine;
  {
    std::lock_guard lock(pending_mutex_);
    auto it = pending_.find(entry.index);
    if (it == pending_.end()) return;
    if (it->second.term == entry.term) {
      mine = std::move(it->second);
    } else {
      superseded.push_back(std::move(it->second));
    }
    pending_.erase(it);
  }
  for (Pending& p : superseded) p.done(Status::UnknownOutcome("leadership changed before the write committed"));
  if (!mine) return;
  command::Response result = response ? std::move(*response) : command::Response{};
  result.raft_index = entry.index.value();
  mine->done(std::move(result));
}

void Store::ExpirePending(SteadyClock::time_point now) {
  std::vector<Pending> expired;
  {
    std::lock_guard lock(pending_mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Pending& p : expired) p.done(Status::Timeout("timeout waiting for the write to commit"));
}

}  // namespace rq::store
