#include "node/store_backend.h"

#include <boost/json.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "db/db_metrics.h"
#include "http/http_metrics.h"
#include "node/proxy_metrics.h"
#include "store/store_metrics.h"

namespace rq::node {
namespace {

cluster::Credentials ToCluster(const std::optional<http::Credentials>& credentials) {
  if (!credentials) return {};
  return cluster::Credentials{credentials->username, credentials->password, true};
}

namespace json = boost::json;

store::WriteOptions ToWriteOptions(const http::CallOptions& options) {
  store::WriteOptions out;
  out.noparse = options.noparse;
  out.norwrandom = options.norwrandom;
  out.norwtime = options.norwtime;
  return out;
}

store::ReadOptions ToReadOptions(const http::CallOptions& options) {
  store::ReadOptions out;
  out.level = options.level;
  out.freshness = options.freshness;
  out.freshness_strict = options.freshness_strict;
  out.linearizable_timeout = options.linearizable_timeout;
  out.sync_index = LogIndex(options.sync_index);
  out.sync_timeout = options.timeout;
  out.noparse = options.noparse;
  out.norwrandom = options.norwrandom;
  out.norwtime = options.norwtime;
  return out;
}

// The store says NotLeader when it cannot serve; with no leader known the
// HTTP answer is rqlite's 503 "leader not found".
http::Done TranslateNotLeader(store::Store* store, http::Done done) {
  return [store, done = std::move(done)](Result<command::Response> result) {
    if (!result.ok() && result.status().IsNotLeader() && store->leader_id().empty()) {
      done(rq::Status::Unavailable("leader not found"));
      return;
    }
    done(std::move(result));
  };
}

// proxy.remote_*: counts a request forwarded to the leader, and its failure.
http::Done CountingForward(cluster::ForwardKind kind, http::Done done) {
  ProxyMetrics& counters = ProxyCounters();
  metrics::Counter* failed = nullptr;
  switch (kind) {
    case cluster::ForwardKind::kExecute:
      counters.remote_executions.Add();
      failed = &counters.remote_executions_failed;
      break;
    case cluster::ForwardKind::kQuery:
      counters.remote_queries.Add();
      failed = &counters.remote_queries_failed;
      break;
    case cluster::ForwardKind::kRequest:
      counters.remote_requests.Add();
      failed = &counters.remote_requests_failed;
      break;
    case cluster::ForwardKind::kLoad:
    case cluster::ForwardKind::kLoadDump:
      counters.remote_loads.Add();  // rqlite has no failure key for these
      break;
    case cluster::ForwardKind::kReadIndex:
      break;  // the store asks for these itself (Store::SetRemoteReadIndex)
  }
  if (failed == nullptr) return done;
  return [failed, done = std::move(done)](Result<command::Response> result) {
    if (!result.ok()) failed->Add();
    done(std::move(result));
  };
}

}  // namespace

ProxyMetrics& ProxyCounters() {
  static ProxyMetrics counters;
  return counters;
}

StoreBackend::StoreBackend(store::Store* store, store::WriteQueue* queue, cluster::Client* client,
                           NodeIdentity identity)
    : store_(store),
      queue_(queue),
      client_(client),
      identity_(std::move(identity)),
      start_time_(std::chrono::system_clock::now()) {
  // Every map of /debug/vars lists its keys from the start, at 0.
  store::RegisterMetrics();
  db::DbCounters();
  http::HttpCounters();
  ProxyCounters();
}

cluster::ForwardRequest StoreBackend::MakeForward(cluster::ForwardKind kind, const http::CallOptions& options) const {
  cluster::ForwardRequest forward;
  forward.kind = kind;
  forward.level = options.level;
  forward.freshness_ns = options.freshness.count();
  forward.freshness_strict = options.freshness_strict;
  forward.linearizable_timeout_ns = options.linearizable_timeout.count();
  forward.noparse = options.noparse;
  forward.norwrandom = options.norwrandom;
  forward.norwtime = options.norwtime;
  forward.timeout_ns = options.timeout.count();
  forward.sync_index = options.sync_index;
  forward.credentials = ToCluster(options.credentials);
  return forward;
}

void StoreBackend::ForwardToLeader(cluster::ForwardRequest request, const http::CallOptions& options,
                                   http::Done done) {
  std::optional<store::NodeAddress> leader = store_->LeaderAddress();
  if (!leader || client_ == nullptr) {
    done(rq::Status::Unavailable("leader not found"));
    return;
  }
  if (options.redirect) {
    done(rq::Status::NotLeader("not leader"));  // the handler answers 301
    return;
  }
  const cluster::ForwardKind kind = request.kind;
  SendForward(leader->raft_addr, std::move(request), options.timeout, options.retries,
              CountingForward(kind, std::move(done)));
}

namespace {

// ?retries: a failed internode call is tried again only when that cannot run
// it twice: a read, or a connection that never carried the request.
bool SafeToRetry(const cluster::ForwardRequest& request, const rq::Status& failure) {
  if (request.kind == cluster::ForwardKind::kQuery) return true;
  return failure.message().find("connect ") != std::string::npos;
}

}  // namespace

void StoreBackend::SendForward(std::string address, cluster::ForwardRequest request, std::chrono::nanoseconds timeout,
                               int retries_left, http::Done done) {
  auto copy = retries_left > 0 ? std::make_shared<cluster::ForwardRequest>(request) : nullptr;
  client_->ForwardAsync(address, std::move(request), timeout,
                        [this, done = std::move(done), served_by = address, copy, timeout, retries_left](
                            Result<cluster::ForwardResponse> forwarded) mutable {
                          if (!forwarded.ok() && copy && SafeToRetry(*copy, forwarded.status())) {
                            // The leader may have changed meanwhile.
                            std::optional<store::NodeAddress> leader = store_->LeaderAddress();
                            std::string next = leader ? leader->raft_addr : served_by;
                            SendForward(std::move(next), std::move(*copy), timeout, retries_left - 1, std::move(done));
                          } else if (!forwarded.ok()) {
                            done(rq::Status::Unavailable("leader not contactable: " + forwarded.status().message()));
                          } else if (!forwarded->status.ok()) {
                            done(forwarded->status);
                          } else {
                            forwarded->response.served_by = served_by;
                            done(std::move(forwarded->response));
                          }
                        });
}

void StoreBackend::Execute(command::Request request, const http::CallOptions& options, http::Done done) {
  if (!store_->is_leader()) {
    cluster::ForwardRequest forward = MakeForward(cluster::ForwardKind::kExecute, options);
    forward.request = std::move(request);
    ForwardToLeader(std::move(forward), options, std::move(done));
    return;
  }
  store_->Execute(std::move(request), ToWriteOptions(options), TranslateNotLeader(store_, std::move(done)));
}

void StoreBackend::Query(command::Request request, const http::CallOptions& options, http::Done done) {
  // Only level=auto asks whether this node votes (a copy of the Raft state).
  const bool local = options.level == command::Consistency::kNone ||
                     (options.level == command::Consistency::kAuto &&
                      !store_->status().raft.membership.IsVoter(NodeId(identity_.node_id)));
  if (options.level == command::Consistency::kLinearizable && !store_->is_leader()) {
    // Served here with the leader's read index (Store::SetRemoteReadIndex);
    // when that cannot be had, the whole read goes to the leader.
    auto copy = std::make_shared<command::Request>(request);
    store_->Query(std::move(request), ToReadOptions(options),
                  ForwardIfNotLeader(cluster::ForwardKind::kQuery, std::move(copy), options, std::move(done)));
    return;
  }
  if (!local && !store_->is_leader()) {
    cluster::ForwardRequest forward = MakeForward(cluster::ForwardKind::kQuery, options);
    forward.request = std::move(request);
    ForwardToLeader(std::move(forward), options, std::move(done));
    return;
  }
  store_->Query(std::move(request), ToReadOptions(options), TranslateNotLeader(store_, std::move(done)));
}

void StoreBackend::Request(command::Request request, const http::CallOptions& options, http::Done done) {
  // Linearizable reads are served here too (see Query); writes and what the
  // store cannot serve come back NotLeader and are forwarded below.
  bool local = options.level == command::Consistency::kNone || options.level == command::Consistency::kLinearizable;
  if (!local && !store_->is_leader()) {
    cluster::ForwardRequest forward = MakeForward(cluster::ForwardKind::kRequest, options);
    forward.request = std::move(request);
    ForwardToLeader(std::move(forward), options, std::move(done));
    return;
  }
  // level=none with writes: the store refuses them as NotLeader; forward then.
  auto copy = std::make_shared<command::Request>(request);
  store_->Request(std::move(request), ToReadOptions(options),
                  ForwardIfNotLeader(cluster::ForwardKind::kRequest, std::move(copy), options, std::move(done)));
}

store::Done StoreBackend::ForwardIfNotLeader(cluster::ForwardKind kind, std::shared_ptr<command::Request> copy,
                                             const http::CallOptions& options, http::Done done) {
  return [this, kind, copy = std::move(copy), options, done = std::move(done)](
             Result<command::Response> result) mutable {
    if (!result.ok() && result.status().IsNotLeader()) {
      cluster::ForwardRequest forward = MakeForward(kind, options);
      forward.request = std::move(*copy);
      ForwardToLeader(std::move(forward), options, std::move(done));
      return;
    }
    done(std::move(result));
  };
}

std::vector<http::RewriteResult> StoreBackend::PreviewSql(const command::Request& request,
                                                          const http::CallOptions& options) {
  std::vector<http::RewriteResult> out;
  for (command::RewritePreview& preview : store_->PreviewSql(request, ToWriteOptions(options))) {
    out.push_back(http::RewriteResult{std::move(preview.original), std::move(preview.rewritten),
                                      std::move(preview.error)});
  }
  return out;
}

Result<http::QueueResult> StoreBackend::Enqueue(command::Request request, const http::CallOptions& options) {
  if (!options.queue_noleader && store_->leader_id().empty()) return rq::Status::Unavailable("leader not found");
  Result<uint64_t> sequence = queue_->Enqueue(std::move(request), ToWriteOptions(options), options.timeout);
  if (!sequence.ok()) return sequence.status();
  return http::QueueResult{*sequence};
}

void StoreBackend::WaitForQueue(std::chrono::nanoseconds timeout, std::function<void(rq::Status)> done) {
  queue_->WaitForFlush(timeout, std::move(done));
}

Result<std::string> StoreBackend::Backup(const http::BackupOptions& options) {
  Result<std::string> path = MakeBackup(options);
  if (path.ok()) {
    last_backup_ns_.store(std::chrono::system_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  return path;
}

Result<std::string> StoreBackend::MakeBackup(const http::BackupOptions& options) {
  if (!options.noleader && !store_->is_leader()) {
    if (store_->leader_id().empty()) return rq::Status::Unavailable("leader not found");
    if (options.redirect) return rq::Status::NotLeader("not leader");
    return BackupThroughLeader(options);
  }
  store::Store::BackupFormat format = store::Store::BackupFormat::kBinary;
  if (options.format == http::BackupOptions::Format::kSql) format = store::Store::BackupFormat::kSql;
  if (options.format == http::BackupOptions::Format::kDelete) format = store::Store::BackupFormat::kDelete;
  return store_->Backup(format, options.vacuum, options.tables);
}

Result<std::string> StoreBackend::BackupThroughLeader(const http::BackupOptions& options) {
  std::optional<store::NodeAddress> leader = store_->LeaderAddress();
  if (!leader || client_ == nullptr) return rq::Status::Unavailable("leader not found");
  ProxyCounters().remote_backups.Add();
  cluster::BackupRequest request;
  request.format = options.format == http::BackupOptions::Format::kSql      ? cluster::BackupFormat::kSql
                   : options.format == http::BackupOptions::Format::kDelete ? cluster::BackupFormat::kDelete
                                                                            : cluster::BackupFormat::kBinary;
  request.vacuum = options.vacuum;
  request.tables = options.tables;
  request.credentials = ToCluster(options.credentials);
  const std::string path = store_->NewTempPath("backup-from-leader-");
  auto fail = [&path](rq::Status status) -> Result<std::string> {
    std::remove(path.c_str());
    return status;
  };
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return fail(rq::Status::IOError("cannot create " + path));
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  uint64_t received = 0;
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0)) return fail(rq::Status::Timeout("backup through the leader timed out"));
    Result<cluster::BackupResponse> reply = client_->Backup(leader->raft_addr, request, left);
    if (!reply.ok()) return fail(rq::Status::Unavailable("leader not contactable: " + reply.status().message()));
    if (!reply->status.ok()) {
      // The leader forgot the backup (expired, or it restarted): the client
      // may simply ask again, as after any unavailable leader.
      if (reply->status.IsNotFound()) return fail(rq::Status::Unavailable("backup: " + reply->status.message()));
      return fail(reply->status);
    }
    if (received + reply->chunk.size() > reply->total_bytes) {
      return fail(rq::Status::Internal("backup through the leader: more bytes than announced"));
    }
    out.write(reply->chunk.data(), static_cast<std::streamsize>(reply->chunk.size()));
    received += reply->chunk.size();
    if (received == reply->total_bytes) break;
    if (reply->chunk.empty()) return fail(rq::Status::Internal("backup through the leader: no progress"));
    request.token = reply->token;
    request.offset = received;
  }
  out.close();
  if (!out) return fail(rq::Status::IOError("backup: cannot write " + path));
  return path;
}

void StoreBackend::LoadDatabase(std::string image, const http::CallOptions& options, http::Done done) {
  if (!store_->is_leader()) {
    cluster::ForwardRequest forward = MakeForward(cluster::ForwardKind::kLoad, options);
    forward.payload = std::move(image);
    ForwardToLeader(std::move(forward), options, std::move(done));
    return;
  }
  store_->Load(std::move(image), TranslateNotLeader(store_, std::move(done)));
}

void StoreBackend::LoadDump(std::string sql, const http::CallOptions& options, http::Done done) {
  if (!store_->is_leader()) {
    cluster::ForwardRequest forward = MakeForward(cluster::ForwardKind::kLoadDump, options);
    forward.payload = std::move(sql);
    ForwardToLeader(std::move(forward), options, std::move(done));
    return;
  }
  store_->LoadDump(std::move(sql), TranslateNotLeader(store_, std::move(done)));
}

rq::Status StoreBackend::Boot(const std::string& path) {
  rq::Status status = store_->Boot(path);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return status;
}

Result<bool> StoreBackend::Snapshot(uint64_t trailing_logs) { return store_->Snapshot(trailing_logs); }

Result<json::value> StoreBackend::Reap() {
  // Snapshots are not chained here (each snapshot is a checkpoint into
  // db.sqlite), so there is never anything to reap.
  return json::value(json::object{{"snapshots_reaped", 0}, {"wals_checkpointed", 0}});
}

http::NodeInfo StoreBackend::SelfInfo() const {
  store::StoreStatus status = store_->status();
  http::NodeInfo info;
  info.id = identity_.node_id;
  info.api_addr = (identity_.tls_enabled ? "https://" : "http://") + identity_.api_addr;
  info.addr = identity_.raft_addr;
  info.version = identity_.version;
  info.voter = status.raft.membership.IsVoter(NodeId(identity_.node_id));
  info.reachable = true;
  info.leader = status.raft.role == raft::Role::kLeader;
  return info;
}

http::NodeInfo StoreBackend::DescribeMember(const NodeId& id, bool voter, const NodeId& leader,
                                            std::chrono::nanoseconds timeout) const {
  if (id.value() == identity_.node_id) return SelfInfo();
  http::NodeInfo info;
  info.id = id.value();
  info.voter = voter;
  info.leader = id == leader;
  std::optional<store::NodeAddress> address = store_->directory().Get(id);
  if (!address) {
    info.error = "address unknown";
    return info;
  }
  info.addr = address->raft_addr;
  info.api_addr = (identity_.tls_enabled ? "https://" : "http://") + address->api_addr;
  if (client_ == nullptr) return info;
  auto start = std::chrono::steady_clock::now();
  auto meta = client_->GetNodeMeta(address->raft_addr, cluster::NodeMetaRequest{}, timeout);
  info.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!meta.ok() || !meta->status.ok()) {
    info.error = meta.ok() ? meta->status.message() : meta.status().message();
    return info;
  }
  info.reachable = true;
  info.api_addr = meta->api_url;
  info.version = meta->version;
  return info;
}

std::vector<http::NodeInfo> StoreBackend::Nodes(bool include_nonvoters, std::chrono::nanoseconds timeout) {
  store::NodeState state = store_->status().raft;
  std::vector<http::NodeInfo> nodes;
  for (const NodeId& id : state.membership.voters) nodes.push_back(DescribeMember(id, true, state.leader, timeout));
  if (include_nonvoters) {
    for (const NodeId& id : state.membership.learners) {
      nodes.push_back(DescribeMember(id, false, state.leader, timeout));
    }
  }
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return nodes;
}

std::optional<http::NodeInfo> StoreBackend::Leader() {
  store::NodeState state = store_->status().raft;
  if (state.leader.empty()) return std::nullopt;
  return DescribeMember(state.leader, true, state.leader, std::chrono::seconds(5));
}

rq::Status StoreBackend::StepDown(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout) {
  return StepDownAs(target_id, wait, timeout, std::nullopt);
}

rq::Status StoreBackend::StepDownAs(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout,
                                    const std::optional<http::Credentials>& credentials) {
  NodeId old_leader = store_->status().raft.leader;
  auto promise = std::make_shared<std::promise<rq::Status>>();
  auto future = promise->get_future();
  if (store_->is_leader()) {
    store_->StepDown(NodeId(target_id), [promise](rq::Status s) { promise->set_value(std::move(s)); });
  } else {
    std::optional<store::NodeAddress> leader = store_->LeaderAddress();
    if (!leader || client_ == nullptr) return rq::Status::Unavailable("leader not found");
    ProxyCounters().remote_stepdowns.Add();
    cluster::StepDownRequest request;
    request.target_id = target_id;
    request.wait = wait;
    request.credentials = ToCluster(credentials);
    auto response = client_->StepDown(leader->raft_addr, request, timeout);
    promise->set_value(!response.ok() ? response.status() : response->status);
  }
  if (future.wait_for(timeout) != std::future_status::ready) return rq::Status::Timeout("stepdown timed out");
  rq::Status status = future.get();
  if (!status.ok() || !wait) return status;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    NodeId leader = store_->status().raft.leader;
    if (!leader.empty() && leader != old_leader) return rq::Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return rq::Status::Timeout("leadership did not move in time");
}

rq::Status StoreBackend::RemoveNode(const std::string& id, std::chrono::nanoseconds timeout) {
  return RemoveNodeAs(id, timeout, std::nullopt);
}

rq::Status StoreBackend::RemoveNodeAs(const std::string& id, std::chrono::nanoseconds timeout,
                                      const std::optional<http::Credentials>& credentials) {
  if (!store_->is_leader()) {
    std::optional<store::NodeAddress> leader = store_->LeaderAddress();
    if (!leader || client_ == nullptr) return rq::Status::Unavailable("leader not found");
    ProxyCounters().remote_remove_node.Add();
    cluster::RemoveRequest request;
    request.id = id;
    request.credentials = ToCluster(credentials);
    auto response = client_->Remove(leader->raft_addr, request, timeout);
    return !response.ok() ? response.status() : response->status;
  }
  auto promise = std::make_shared<std::promise<rq::Status>>();
  auto future = promise->get_future();
  store_->Remove(NodeId(id), [promise](rq::Status s) { promise->set_value(std::move(s)); });
  if (future.wait_for(timeout) != std::future_status::ready) return rq::Status::Timeout("remove timed out");
  return future.get();
}

std::vector<http::Backend::ReadyCheck> StoreBackend::Ready(bool noleader, bool sync, std::chrono::nanoseconds timeout) {
  std::vector<ReadyCheck> checks;
  checks.push_back({"node", true, ""});
  if (noleader) return checks;
  store::StoreStatus status = store_->status();
  if (status.raft.leader.empty()) {
    checks.push_back({"leader", false, "leader does not exist"});
    return checks;
  }
  checks.push_back({"leader", true, ""});
  const bool restoring = restoring_.load(std::memory_order_acquire);
  const bool joining = joining_.load(std::memory_order_acquire);
  const bool store_ready = status.ready && !restoring && !joining;
  checks.push_back({"store", store_ready,
                    restoring ? "auto-restore in progress"
                    : joining ? "joining the cluster"
                    : store_ready ? "" : "store not ready"});
  if (sync) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    // The leader's commit index, not ours: a node still waiting for its
    // snapshot knows of almost nothing committed.
    LogIndex target = status.raft.commit;
    std::string failure = "sync timeout";
    bool reachable = true;
    if (!store_->is_leader()) {
      std::optional<store::NodeAddress> leader = store_->LeaderAddress();
      auto meta = leader && client_ != nullptr
                      ? client_->GetNodeMeta(leader->raft_addr, cluster::NodeMetaRequest{}, timeout)
                      : Result<cluster::NodeMetaResponse>(rq::Status::Unavailable("leader unknown"));
      if (meta.ok() && meta->status.ok()) {
        target = std::max(target, LogIndex(meta->commit_index));
      } else {
        reachable = false;
        failure = "sync: leader not contactable";
      }
    }
    bool synced = reachable && store_->WaitForApplied(target, deadline);
    checks.push_back({"sync", synced, synced ? "" : failure});
  }
  command::Request probe;
  probe.statements.push_back(command::Statement{"SELECT 1", {}, false});
  command::Response response = store_->database()->Query(probe);
  std::string db_error = !response.error.empty() ? response.error
                         : response.results.empty() ? "no result"
                                                    : response.results[0].error;
  checks.push_back({"db", db_error.empty(), db_error.empty() ? "" : "db not ok: " + db_error});
  return checks;
}

std::string StoreBackend::LeaderApiUrl() {
  std::optional<store::NodeAddress> leader = store_->LeaderAddress();
  if (!leader) return "";
  if (leader->api_addr.empty() && client_ != nullptr) {
    // A member converted from Go rqlite v7+ (whose log kept no API
    // addresses) until it rejoins: ask the leader itself, as rqlite does.
    auto meta = client_->GetNodeMeta(leader->raft_addr, cluster::NodeMetaRequest{}, std::chrono::seconds(2));
    return meta.ok() && meta->status.ok() ? meta->api_url : "";
  }
  return (identity_.tls_enabled ? "https://" : "http://") + leader->api_addr;
}

std::string StoreBackend::ServedBy() { return identity_.api_addr; }

}  // namespace rq::node
