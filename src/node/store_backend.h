// StoreBackend: adapts the node (store/, its write queue) to the interface
// the HTTP layer calls (http/backend.h). This is wiring: no policy lives here
// beyond translating statuses and building the /status and /nodes views.
//
// Thread-safety: as http::Backend requires; every method may run on any
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/client.h"
#include "http/backend.h"
#include "metrics/prometheus.h"
#include "store/store.h"
#include "store/write_queue.h"

namespace rq::node {

struct NodeIdentity {
  std::string node_id;
  std::string api_addr;   // advertised host:port
  std::string raft_addr;  // advertised host:port
  std::string http_bind_addr;
  std::string version;
  std::string commit;
  std::string branch;
  std::string build_time;
  std::string compiler;
  bool auth_enabled = false;
  bool tls_enabled = false;
  std::string allow_origin;
};

class StoreBackend final : public http::Backend {
 public:
  // `client` reaches the leader for forwarded requests; null on a node that
  // never has peers.
  StoreBackend(store::Store* store, store::WriteQueue* queue, cluster::Client* client, NodeIdentity identity);

  void Execute(command::Request request, const http::CallOptions& options, http::Done done) override;
  void Query(command::Request request, const http::CallOptions& options, http::Done done) override;
  void Request(command::Request request, const http::CallOptions& options, http::Done done) override;
  std::vector<http::RewriteResult> PreviewSql(const command::Request& request,
                                              const http::CallOptions& options) override;
  Result<http::QueueResult> Enqueue(command::Request request, const http::CallOptions& options) override;
  void WaitForQueue(std::chrono::nanoseconds timeout, std::function<void(rq::Status)> done) override;
  Result<std::string> Backup(const http::BackupOptions& options) override;
  void LoadDatabase(std::string image, const http::CallOptions& options, http::Done done) override;
  void LoadDump(std::string sql, const http::CallOptions& options, http::Done done) override;
  rq::Status Boot(const std::string& path) override;
  Result<bool> Snapshot(uint64_t trailing_logs) override;
  Result<boost::json::value> Reap() override;
  boost::json::value Status() override;
  boost::json::value DebugVars() override;
  std::string PrometheusText() override;  // store_backend_metrics.cc
  // Every metric, into `sink` (Prometheus text or an OTLP request).
  // Thread-safe; never waits for the writer or the Raft loop.
  void WriteMetrics(metrics::Sink& sink);
  std::vector<http::NodeInfo> Nodes(bool include_nonvoters, std::chrono::nanoseconds timeout) override;
  std::optional<http::NodeInfo> Leader() override;
  rq::Status StepDown(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout) override;
  rq::Status RemoveNode(const std::string& id, std::chrono::nanoseconds timeout) override;
  rq::Status StepDownAs(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout,
                        const std::optional<http::Credentials>& credentials) override;
  rq::Status RemoveNodeAs(const std::string& id, std::chrono::nanoseconds timeout,
                          const std::optional<http::Credentials>& credentials) override;
  std::vector<ReadyCheck> Ready(bool noleader, bool sync, std::chrono::nanoseconds timeout) override;
  std::string LeaderApiUrl() override;
  std::string ServedBy() override;

  // While set, /readyz says the store is not ready (-auto-restore loading).
  void SetRestoring(bool restoring) { restoring_.store(restoring, std::memory_order_release); }
  // Likewise while this new node's -join is not answered yet (it may already
  // follow the leader as a learner, not yet a voter).
  void SetJoining(bool joining) { joining_.store(joining, std::memory_order_release); }

  // An extra top-level /status section (e.g. "disco"), built on each call.
  // REQUIRES: called before the HTTP server starts; `section` is thread-safe.
  void AddStatusSection(std::string name, std::function<boost::json::value()> section) {
    status_sections_.emplace_back(std::move(name), std::move(section));
  }

 private:
  http::NodeInfo SelfInfo() const;
  // Runs a leader-only request on the leader (API.md 4.4), or answers
  // NotLeader for ?redirect, or "leader not found".
  void ForwardToLeader(cluster::ForwardRequest request, const http::CallOptions& options, http::Done done);
  // The store's answer, or the request (a copy kept for this) forwarded to
  // the leader when the store says NotLeader.
  store::Done ForwardIfNotLeader(cluster::ForwardKind kind, std::shared_ptr<command::Request> copy,
                                 const http::CallOptions& options, http::Done done);
  // One forwarded call, tried again up to `retries_left` times (?retries).
  void SendForward(std::string address, cluster::ForwardRequest request, std::chrono::nanoseconds timeout,
                   int retries_left, http::Done done);
  cluster::ForwardRequest MakeForward(cluster::ForwardKind kind, const http::CallOptions& options) const;
  http::NodeInfo DescribeMember(const NodeId& id, bool voter, const NodeId& leader,
                                std::chrono::nanoseconds timeout) const;

  store::Store* store_;
  store::WriteQueue* queue_;
  cluster::Client* client_;
  // GET /db/backup on a follower: the leader makes it (cluster BACKUP).
  Result<std::string> BackupThroughLeader(const http::BackupOptions& options);
  Result<std::string> MakeBackup(const http::BackupOptions& options);
  // /status store.sqlite3 and store.db_conf (store_backend_status.cc).
  boost::json::value DatabaseStatus();

  std::atomic<bool> restoring_{false};
  std::atomic<bool> joining_{false};
  NodeIdentity identity_;
  std::chrono::system_clock::time_point start_time_;
  // When a backup last succeeded on this node (system_clock ns; 0: never).
  std::atomic<int64_t> last_backup_ns_{0};
  std::vector<std::pair<std::string, std::function<boost::json::value()>>> status_sections_;
};

}  // namespace rq::node
