#include "store/cluster_bridge.h"

#include "store/store_metrics.h"

namespace rq::store {
namespace {

class SinkAdapter final : public cluster::SnapshotSink {
 public:
  explicit SinkAdapter(std::unique_ptr<Store::IncomingSnapshot> incoming) : incoming_(std::move(incoming)) {}
  Status Write(std::string_view chunk) override { return incoming_->Write(chunk); }
  Status Finish() override { return incoming_->Finish(); }
  void Abort() override { incoming_->Abort(); }

 private:
  std::unique_ptr<Store::IncomingSnapshot> incoming_;
};

class ReaderAdapter final : public cluster::SnapshotReader {
 public:
  explicit ReaderAdapter(std::unique_ptr<Store::SnapshotStream> stream) : stream_(std::move(stream)) {}
  uint64_t total_bytes() const override { return stream_->total_bytes(); }
  Status Read(size_t max_bytes, std::string* out) override { return stream_->Read(max_bytes, out); }

 private:
  std::unique_ptr<Store::SnapshotStream> stream_;
};

}  // namespace

ClusterBridge::ClusterBridge(Store* store, std::string api_url, std::string version)
    : store_(store), api_url_(std::move(api_url)), version_(std::move(version)) {}

void ClusterBridge::Send(std::vector<raft::Message> messages) {
  if (cluster::Transport* transport = transport_.load()) transport->Send(std::move(messages));
}

void ClusterBridge::SetPeers(std::map<NodeId, std::string> raft_addresses) {
  if (cluster::Transport* transport = transport_.load()) transport->SetPeers(std::move(raft_addresses));
}

void ClusterBridge::OnRaftMessage(raft::Message message) { store_->Step(std::move(message)); }

void ClusterBridge::OnRaftMessages(std::vector<raft::Message> messages) { store_->StepAll(std::move(messages)); }

Result<std::unique_ptr<cluster::SnapshotSink>> ClusterBridge::BeginSnapshot(const NodeId&,
                                                                            const raft::SnapshotMeta& meta) {
  auto incoming = store_->BeginIncomingSnapshot(meta);
  if (!incoming.ok()) return incoming.status();
  return std::unique_ptr<cluster::SnapshotSink>(new SinkAdapter(std::move(incoming).value()));
}

Result<std::unique_ptr<cluster::SnapshotReader>> ClusterBridge::OpenSnapshot(const raft::SnapshotMeta& meta) {
  auto stream = store_->OpenSnapshotStream(meta);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<cluster::SnapshotReader>(new ReaderAdapter(std::move(stream).value()));
}

cluster::MembershipResponse ClusterBridge::WithLeader(Status status) const {
  cluster::MembershipResponse response;
  if (status.IsNotLeader()) {
    if (auto leader = store_->LeaderAddress()) response.leader_raft_addr = leader->raft_addr;
  }
  response.status = std::move(status);
  return response;
}

bool ClusterBridge::Allowed(const cluster::Credentials& credentials, std::string_view perm) const {
  return !authorizer_ || authorizer_(credentials, perm);
}

namespace {

// The refusal a forwarding or joining node turns into HTTP 401 / a fatal
// join error (http::kUnauthorized).
Status Unauthorized() { return Status::InvalidArgument("unauthorized"); }

void CountForwarded(cluster::ForwardKind kind) {
  ClusterServiceMetrics& counters = ClusterCounters();
  switch (kind) {
    case cluster::ForwardKind::kExecute: counters.num_execute_req.Add(); return;
    case cluster::ForwardKind::kQuery: counters.num_query_req.Add(); return;
    case cluster::ForwardKind::kRequest: counters.num_request_req.Add(); return;
    case cluster::ForwardKind::kLoad:
    case cluster::ForwardKind::kLoadDump: counters.num_load_req.Add(); return;
    case cluster::ForwardKind::kReadIndex: counters.num_read_index_req.Add(); return;
  }
}

const char* ForwardPermission(cluster::ForwardKind kind) {
  switch (kind) {
    case cluster::ForwardKind::kExecute: return "execute";
    case cluster::ForwardKind::kQuery: return "query";
    case cluster::ForwardKind::kRequest: return "execute";  // and query, checked beside
    case cluster::ForwardKind::kLoad:
    case cluster::ForwardKind::kLoadDump: return "load";
    case cluster::ForwardKind::kReadIndex: return "";  // see Forward
  }
  return "all";
}

}  // namespace

void ClusterBridge::Join(const cluster::JoinRequest& request, std::function<void(cluster::JoinResponse)> done) {
  ClusterCounters().num_join_req.Add();
  // A voter needs `join`; a non-voter needs `join-read-only` (or its alias),
  // which `join` alone does not give (API.md 4.9).
  const bool allowed = request.voter ? Allowed(request.credentials, "join")
                                     : Allowed(request.credentials, "join-read-only") ||
                                           Allowed(request.credentials, "join-read-replica");
  if (!allowed) {
    done(cluster::JoinResponse{Unauthorized(), ""});
    return;
  }
  store_->Join(NodeId(request.id), NodeAddress{request.raft_addr, request.api_addr}, request.voter,
               [this, done = std::move(done)](Status status) { done(WithLeader(std::move(status))); });
}

void ClusterBridge::Remove(const cluster::RemoveRequest& request, std::function<void(cluster::RemoveResponse)> done) {
  ClusterCounters().num_remove_node_req.Add();
  if (!Allowed(request.credentials, "remove")) {
    done(cluster::RemoveResponse{Unauthorized(), ""});
    return;
  }
  if (request.removed_notice) {
    // A leader that has just removed this node says so (with -auth, under
    // its -join-as credentials); anything else is a request to remove.
    if (NodeId(request.id) == store_->options().node_id) store_->OnRemovedByLeader();
    done(cluster::RemoveResponse{Status::OK(), ""});
    return;
  }
  store_->Remove(NodeId(request.id),
                 [this, done = std::move(done)](Status status) { done(WithLeader(std::move(status))); });
}

void ClusterBridge::Backup(const cluster::BackupRequest& request, std::function<void(cluster::BackupResponse)> done) {
  // A backup comes in chunks; the first request (no token yet) starts it.
  if (request.token.empty()) ClusterCounters().num_backup_req.Add();
  if (!Allowed(request.credentials, "backup")) {
    done(cluster::BackupResponse{Unauthorized(), "", 0, ""});
    return;
  }
  backups_.Serve(request, std::move(done));
}

void ClusterBridge::GetNodeMeta(const cluster::NodeMetaRequest&, std::function<void(cluster::NodeMetaResponse)> done) {
  ClusterCounters().num_get_node_api_req.Add();
  cluster::NodeMetaResponse response;
  response.api_url = api_url_;
  response.version = version_;
  response.commit_index = store_->status().raft.commit.value();
  done(std::move(response));
}

void ClusterBridge::Forward(const cluster::ForwardRequest& request,
                            std::function<void(cluster::ForwardResponse)> done) {
  CountForwarded(request.kind);
  auto reply = [done = std::move(done)](Result<command::Response> result) {
    cluster::ForwardResponse response;
    if (result.ok()) {
      response.response = std::move(result).value();
    } else {
      response.status = result.status();
    }
    done(std::move(response));
  };
  if (request.kind == cluster::ForwardKind::kReadIndex) {
    // No client's credentials: the follower checked them. A read index says
    // no more than the commit index every append on the Raft port carries.
    store_->LeaderReadIndex([reply = std::move(reply)](Result<LogIndex> index) {
      if (!index.ok()) {
        reply(index.status());
        return;
      }
      command::Response response;
      response.raft_index = index->value();
      reply(std::move(response));
    });
    return;
  }
  if (!Allowed(request.credentials, ForwardPermission(request.kind)) ||
      (request.kind == cluster::ForwardKind::kRequest && !Allowed(request.credentials, "query"))) {
    reply(Unauthorized());
    return;
  }
  WriteOptions write;
  write.noparse = request.noparse;
  write.norwrandom = request.norwrandom;
  write.norwtime = request.norwtime;
  ReadOptions read;
  read.level = request.level;
  read.freshness = std::chrono::nanoseconds(request.freshness_ns);
  read.freshness_strict = request.freshness_strict;
  if (request.linearizable_timeout_ns > 0) {
    read.linearizable_timeout = std::chrono::nanoseconds(request.linearizable_timeout_ns);
  }
  read.noparse = request.noparse;
  read.norwrandom = request.norwrandom;
  read.norwtime = request.norwtime;
  read.sync_index = LogIndex(request.sync_index);
  if (request.timeout_ns > 0) read.sync_timeout = std::chrono::nanoseconds(request.timeout_ns);
  switch (request.kind) {
    case cluster::ForwardKind::kExecute:
      store_->Execute(request.request, write, std::move(reply));
      return;
    case cluster::ForwardKind::kQuery:
      store_->Query(request.request, read, std::move(reply));
      return;
    case cluster::ForwardKind::kRequest:
      store_->Request(request.request, read, std::move(reply));
      return;
    case cluster::ForwardKind::kLoad:
      store_->Load(request.payload, std::move(reply));
      return;
    case cluster::ForwardKind::kLoadDump:
      store_->LoadDump(request.payload, std::move(reply));
      return;
    case cluster::ForwardKind::kReadIndex:
      break;  // answered above
  }
  reply(Status::InvalidArgument("unknown forwarded request kind"));
}

void ClusterBridge::StepDown(const cluster::StepDownRequest& request,
                             std::function<void(cluster::StepDownResponse)> done) {
  ClusterCounters().num_stepdown_req.Add();
  if (!Allowed(request.credentials, "leader-ops")) {
    done(cluster::StepDownResponse{Unauthorized(), ""});
    return;
  }
  store_->StepDown(NodeId(request.target_id),
                   [this, done = std::move(done)](Status status) { done(WithLeader(std::move(status))); });
}

void ClusterBridge::Notify(const cluster::NotifyRequest& request,
                           std::function<void(cluster::NotifyResponse)> done) {
  ClusterCounters().num_notify_req.Add();
  if (!Allowed(request.credentials, "join")) {
    done(cluster::NotifyResponse{Unauthorized(), ""});
    return;
  }
  if (!notify_handler_) {
    cluster::RpcHandler::Notify(request, std::move(done));
    return;
  }
  notify_handler_(request, std::move(done));
}

}  // namespace rq::store
