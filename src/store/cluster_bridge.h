// ClusterBridge: connects the store to the node-to-node transport. It is the
// store's Transport (raft messages out), and implements the interfaces
// cluster/ declares for what arrives (raft messages, snapshot streams, RPCs:
// join, remove, node meta, forwarded requests, stepdown, backup).
//
// Lifetime: construct, then Attach(transport) before Store::Start(bridge);
// the store and transport must outlive it.
// Thread-safety: called from the raft loop (Send/SetPeers) and the
// transport's I/O threads; every method is safe from any thread.
#pragma once

#include <atomic>
#include <string>

#include "cluster/service.h"
#include "cluster/transport.h"
#include "store/backup_server.h"
#include "store/raft_node.h"
#include "store/store.h"

namespace rq::store {

class ClusterBridge final : public Transport,
                            public cluster::RaftReceiver,
                            public cluster::SnapshotSource,
                            public cluster::RpcHandler {
 public:
  // api_url: this node's advertised HTTP API URL; version for GET_NODE_META.
  ClusterBridge(Store* store, std::string api_url, std::string version);
  void Attach(cluster::Transport* transport) { transport_ = transport; }

  // store::Transport
  void Send(std::vector<raft::Message> messages) override;
  void SetPeers(std::map<NodeId, std::string> raft_addresses) override;

  // cluster::RaftReceiver
  void OnRaftMessage(raft::Message message) override;
  void OnRaftMessages(std::vector<raft::Message> messages) override;
  Result<std::unique_ptr<cluster::SnapshotSink>> BeginSnapshot(const NodeId& from,
                                                               const raft::SnapshotMeta& meta) override;
  // cluster::SnapshotSource
  Result<std::unique_ptr<cluster::SnapshotReader>> OpenSnapshot(const raft::SnapshotMeta& meta) override;

  // cluster::RpcHandler
  void Join(const cluster::JoinRequest& request, std::function<void(cluster::JoinResponse)> done) override;
  void Remove(const cluster::RemoveRequest& request, std::function<void(cluster::RemoveResponse)> done) override;
  void GetNodeMeta(const cluster::NodeMetaRequest& request,
                   std::function<void(cluster::NodeMetaResponse)> done) override;
  void Forward(const cluster::ForwardRequest& request, std::function<void(cluster::ForwardResponse)> done) override;
  void StepDown(const cluster::StepDownRequest& request,
                std::function<void(cluster::StepDownResponse)> done) override;
  void Backup(const cluster::BackupRequest& request, std::function<void(cluster::BackupResponse)> done) override;
  // NOTIFY goes to the -bootstrap-expect logic (node/bootstrap.h) when set,
  // before Transport::Start; otherwise it is refused.
  using NotifyHandler =
      std::function<void(const cluster::NotifyRequest&, std::function<void(cluster::NotifyResponse)>)>;
  void SetNotifyHandler(NotifyHandler handler) { notify_handler_ = std::move(handler); }
  void Notify(const cluster::NotifyRequest& request, std::function<void(cluster::NotifyResponse)> done) override;

  // Checks an RPC's credentials for a permission of the -auth file (API.md
  // 4.9): true when allowed. Unset (no -auth file): everything is allowed.
  // node/ passes http::AuthStore in, so store/ does not depend on http/.
  using Authorizer = std::function<bool(const cluster::Credentials&, std::string_view perm)>;
  void SetAuthorizer(Authorizer authorizer) { authorizer_ = std::move(authorizer); }

 private:
  cluster::MembershipResponse WithLeader(Status status) const;
  bool Allowed(const cluster::Credentials& credentials, std::string_view perm) const;

  Store* store_;
  std::atomic<cluster::Transport*> transport_{nullptr};
  std::string api_url_;
  std::string version_;
  NotifyHandler notify_handler_;
  Authorizer authorizer_;  // set before Transport::Start; then read only
  BackupServer backups_{store_};
};

}  // namespace rq::store
