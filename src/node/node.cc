// Node: the parts of one rqlited node, built from the flags and started in
// dependency order (store, Raft address, HTTP, then formation), and stopped
// in reverse so nothing calls into a part that is closing.
#include "node/node.h"


#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "base/logging.h"
#include "cluster/client.h"
#include "cluster/transport.h"
#include "db/extensions.h"
#include "env/posix_file_system.h"
#include "disco/dns.h"
#include "disco/kv_client.h"
#include "http/auth.h"
#include "http/server.h"
#include "node/otlp_exporter.h"
#include "node/auto_backup.h"
#include "node/cdc_feed.h"
#include "node/bootstrap.h"
#include "node/join.h"
#include "node/kv_formation.h"
#include "node/node_options.h"
#include "node/signals.h"
#include "node/store_backend.h"
#include "store/cluster_bridge.h"
#include "store/reaper.h"
#include "store/store.h"
#include "store/write_queue.h"
#include "node/profiles.h"
#include "node/upgrade_dir.h"

namespace rq::node {
namespace {

// The failed step's name before the cause, keeping the cause's code.
Status Failed(std::string_view step, const Status& cause) {
  return Status::FromCode(cause.code(), std::string(step) + ": " + cause.ToString());
}


}  // namespace

// Declared in the order the parts depend on each other, so that members are
// destroyed in reverse: whatever calls into a part goes before it.
struct Node::Parts {
  Profiles profiles;  // first in, last out: it sees the whole run
  std::unique_ptr<CdcFeed> cdc;  // -cdc-config: the store's ChangeListener, so it outlives the store
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::ClusterBridge> bridge;
  std::unique_ptr<cluster::Transport> transport;
  std::unique_ptr<cluster::Client> client;
  // -auth: RPCs from other nodes are checked too (API.md 4.4, 4.9).
  http::AuthStore node_auth;
  // -join-as: this node's own credentials for join, notify and remove, and
  // the same for backend calls (a forwarded queued batch is checked on the
  // leader).
  cluster::Credentials node_credentials;
  std::optional<http::Credentials> node_http_credentials;
  std::unique_ptr<disco::KvDiscovery> kv_discovery;
  JoinPlan join_plan;
  std::unique_ptr<Bootstrapper> bootstrapper;
  bool joining = false;
  bool bootstrapping = false;
  bool kv_forming = false;
  bool rejoining = false;  // has state and -join targets: a join that is allowed to fail
  // A removed node is told so by the leader (see Store::SetOnMemberRemoved);
  // the notices run off the Raft and apply threads and are waited for at exit.
  std::mutex notices_mutex;
  std::vector<std::future<void>> removal_notices;
  std::unique_ptr<store::WriteQueue> queue;
  std::unique_ptr<StoreBackend> backend;
  std::unique_ptr<OtlpExporter> otlp;  // -otlp-endpoint
  std::unique_ptr<AutoBackup> auto_backup;      // -auto-backup
  std::optional<std::string> restore_path;      // -auto-restore: the checked file to load
  std::unique_ptr<http::Server> server;
  std::unique_ptr<store::Reaper> reaper;

  bool store_started = false;
  bool transport_started = false;
  bool reporting = false;
  bool server_started = false;
};

Node::Node(config::Config config, std::string version)
    : config_(std::move(config)), version_(std::move(version)), parts_(std::make_unique<Parts>()) {}

Node::~Node() { Shutdown(); }

Status Node::Start() {
  spdlog::set_level(spdlog::level::info);
  for (const std::string& note : config_.legacy_notes) RQ_LOG_INFO("{}", note);
  Status started = parts_->profiles.Start({config_.cpu_profile, config_.mem_profile, config_.trace_profile});
  if (started.ok()) started = StartParts();
  if (started.ok()) started = FormCluster();
  if (started.ok() && parts_->restore_path) {
    started = LoadAutoRestore(parts_->store.get(), *parts_->restore_path, std::chrono::seconds(30));
    parts_->restore_path.reset();
    parts_->backend->SetRestoring(false);
    if (!started.ok()) started = Failed("failed to load the auto-restored database", started);
  }
  if (!started.ok()) {
    StopParts();
    stopped_ = true;
    return started;
  }
  Parts& p = *parts_;
  store::ReaperOptions reap;
  reap.voter_timeout = config_.raft_reap_node_timeout;
  reap.learner_timeout = config_.raft_reap_read_only_node_timeout;
  p.reaper = std::make_unique<store::Reaper>(p.store.get(), reap);
  p.reaper->Start();
  return Status::OK();
}

// A directory Go rqlite left is converted before anything opens it; one
// that is neither rqlite's nor ours is refused (upgrade/upgrade_dir.h).
Status Node::PrepareDataDirectory() {
  env::PosixFileSystem fs;
  LocalNode self{config_.node_id, config_.raft_adv_addr, config_.http_adv_addr};
  Result<PrepareOutcome> outcome = PrepareDataDir(fs, config_.data_path, self);
  if (!outcome.ok()) return Failed("cannot start on " + config_.data_path, outcome.status());
  if (outcome->converted || outcome->resumed || !outcome->report.empty()) {
    for (const std::string& line : outcome->report) RQ_LOG_INFO("upgrade: {}", line);
    if (outcome->converted) {
      RQ_LOG_INFO("upgrade: {} converted from {}; starting on our formats", config_.data_path,
                  outcome->found.go_version);
    }
  }
  return Status::OK();
}

Status Node::StartParts() {
  Parts& p = *parts_;
  if (Status prepared = PrepareDataDirectory(); !prepared.ok()) return prepared;
  store::StoreOptions store_options = MakeStoreOptions(config_);
  if (!config_.extensions_paths.empty()) {
    auto libraries = db::ResolveExtensions(config_.extensions_paths, config_.data_path + "/extensions");
    if (!libraries.ok()) return Failed("failed to find SQLite extensions", libraries.status());
    store_options.extensions = std::move(libraries).value();
    for (const std::string& library : store_options.extensions) RQ_LOG_INFO("loading SQLite extension {}", library);
  }
  if (!config_.cdc_config.empty()) {
    auto feed = CdcFeed::Create(config_.cdc_config, config_.node_id, config_.data_path);
    if (!feed.ok()) return Failed("failed to create CDC service", feed.status());
    p.cdc = std::move(feed).value();
    store_options.capture = p.cdc->capture_options();
    store_options.change_listener = p.cdc.get();
  }
  auto opened = store::Store::Open(store_options);
  if (!opened.ok()) return Failed("failed to open store", opened.status());
  p.store = std::move(opened).value();
  store::Store* store = p.store.get();

  std::string scheme = config_.http_cert.empty() ? "http://" : "https://";
  p.bridge = std::make_unique<store::ClusterBridge>(store, scheme + config_.http_adv_addr, version_);
  cluster::Transport::Config transport_config;
  transport_config.bind_addr = config_.raft_addr;
  transport_config.node_id = NodeId(config_.node_id);
  transport_config.connect_timeout = config_.cluster_connect_timeout;
  transport_config.max_frame_bytes = kMaxFrameBytes;
  transport_config.on_unreachable = [store](const NodeId& peer) { store->ReportUnreachable(peer); };
  transport_config.on_snapshot_done = [store](const NodeId& peer, bool ok) { store->ReportSnapshot(peer, ok); };
  transport_config.advertise_addr = config_.raft_adv_addr;
  // A node that just joined learns its peers' addresses from their HELLOs
  // before the log tells it (a leader elected before the newcomer has the
  // log would otherwise be unreachable from it).
  transport_config.on_peer_address = [store](const NodeId& peer, const std::string& raft_addr) {
    store->LearnAddress(peer, store::NodeAddress{raft_addr, "", false});
  };
  transport_config.tls = MakeNodeTlsOptions(config_);
  transport_config.compress_snapshots = config_.compress_snap_transport;
  p.transport = std::make_unique<cluster::Transport>(transport_config, p.bridge.get(), p.bridge.get(), p.bridge.get());
  p.bridge->Attach(p.transport.get());
  cluster::Client::Config client_config;
  client_config.node_id = NodeId(config_.node_id);
  client_config.max_frame_bytes = kMaxFrameBytes;
  client_config.tls = MakeNodeTlsOptions(config_);
  p.client = std::make_unique<cluster::Client>(client_config);
  // Linearizable reads on a follower: the leader names the read index, this
  // node reads its own file once it has applied it.
  store->SetRemoteReadIndex([store, client = p.client.get()](std::chrono::nanoseconds timeout,
                                                             std::function<void(Result<LogIndex>)> done) {
    std::optional<store::NodeAddress> leader = store->LeaderAddress();
    if (!leader) {
      done(Status::NotLeader("no leader known"));
      return;
    }
    cluster::ForwardRequest ask;
    ask.kind = cluster::ForwardKind::kReadIndex;
    ask.linearizable_timeout_ns = timeout.count();
    client->ForwardAsync(leader->raft_addr, std::move(ask), timeout,
                         [done = std::move(done)](Result<cluster::ForwardResponse> answer) {
                           if (!answer.ok()) {
                             // The usual path then: the whole read forwarded,
                             // and its error if the leader stays unreachable.
                             done(Status::NotLeader("leader unreachable for a read index: " +
                                                    answer.status().ToString()));
                           } else if (!answer->status.ok()) {
                             done(answer->status);
                           } else {
                             done(LogIndex(answer->response.raft_index));
                           }
                         });
  });

  if (!config_.auth_file.empty()) {
    if (Status loaded = p.node_auth.LoadFile(config_.auth_file); !loaded.ok()) {
      return Failed("failed to load -auth file", loaded);
    }
    p.bridge->SetAuthorizer([&p](const cluster::Credentials& c, std::string_view perm) {
      std::optional<http::Credentials> credentials;
      if (c.present) credentials = http::Credentials{c.username, c.password};
      return p.node_auth.IsAllowed(credentials, perm);
    });
  }
  if (!config_.join_as.empty()) {
    auto credentials = JoinAsCredentials(config_.auth_file, config_.join_as);
    if (!credentials.ok()) return Status::FromCode(credentials.status().code(), credentials.status().ToString());
    p.node_credentials = std::move(credentials).value();
  }
  if (p.node_credentials.present) {
    p.node_http_credentials = http::Credentials{p.node_credentials.username, p.node_credentials.password};
  }

  bool has_state = store->status().snapshot_index > LogIndex(0) || store->has_log();
  if (!config_.auto_restore_file.empty()) {
    auto restore = DownloadAutoRestore(config_.auto_restore_file, has_state, config_.data_path + "/tmp");
    if (!restore.ok()) return Failed("failed to auto-restore", restore.status());
    p.restore_path = std::move(restore).value();
  }
  // Discovery and joining are for nodes that belong to no cluster yet.
  p.bootstrapping = config_.bootstrap_expect > 0 && !has_state;
  p.joining = !config_.join_targets.empty() && !has_state && !p.bootstrapping;
  // As rqlite does, a node with state still asks to join: one that removed
  // itself on shutdown (-raft-cluster-remove-shutdown) and comes back with
  // its usual flags is a member again; for a member it changes nothing.
  p.rejoining = has_state && !config_.join_targets.empty();
  if (has_state && config_.bootstrap_expect > 0) {
    RQ_LOG_INFO("node already belongs to a cluster; not bootstrapping{}",
                p.rejoining ? ", asking the -join nodes to keep it a member" : "");
  }
  // Consul/etcd: every node reports to the key while it leads; only a node
  // with no state forms or joins the cluster through it.
  if (disco::IsKvDiscoMode(config_.disco_mode)) {
    auto made = MakeKvDiscovery(config_, std::chrono::seconds(5));
    if (!made.ok()) return Status::FromCode(made.status().code(), made.status().ToString());
    p.kv_discovery = std::move(made).value();
    if (has_state) RQ_LOG_INFO("node already belongs to a cluster; not registering with {}", config_.disco_mode);
  }
  p.kv_forming = p.kv_discovery != nullptr && !has_state;
  p.join_plan.targets = config_.join_targets;
  p.join_plan.attempts = config_.join_attempts;
  p.join_plan.interval = config_.join_interval;
  p.join_plan.request.id = config_.node_id;
  p.join_plan.request.raft_addr = config_.raft_adv_addr;
  p.join_plan.request.api_addr = config_.http_adv_addr;
  p.join_plan.request.voter = !config_.raft_non_voter;
  p.join_plan.request.credentials = p.node_credentials;
  BootstrapPlan bootstrap_plan;
  if (!config_.disco_mode.empty() && !p.kv_discovery && !has_state) {
    Result<std::string> disco_config = disco::ReadDiscoConfig(config_.disco_config);
    Result<disco::Discovery> discovery = disco_config.ok()
        ? disco::MakeDnsDiscovery(config_.disco_mode, *disco_config,
                                  config_.raft_adv_addr.substr(config_.raft_adv_addr.rfind(':') + 1))
        : Result<disco::Discovery>(disco_config.status());
    if (!discovery.ok()) return Status::FromCode(discovery.status().code(), discovery.status().ToString());
    bootstrap_plan.discover = *discovery;
    if (!p.bootstrapping) {
      // A read replica: join whatever the names resolve to now.
      p.joining = true;
      for (int64_t attempt = 0; p.join_plan.targets.empty() && attempt < config_.join_attempts; ++attempt) {
        if (auto found = (*discovery)(); found.ok()) {
          for (const std::string& address : *found) p.join_plan.targets.push_back(config::JoinTarget{address, ""});
        }
        if (p.join_plan.targets.empty() && attempt + 1 < config_.join_attempts) {
          std::this_thread::sleep_for(config_.join_interval);
        }
      }
    }
  }
  bootstrap_plan.join = p.join_plan;
  bootstrap_plan.expect = config_.bootstrap_expect;
  bootstrap_plan.timeout = config_.bootstrap_expect_timeout;
  p.bootstrapper = std::make_unique<Bootstrapper>(store, p.client.get(), bootstrap_plan);
  if (p.bootstrapping) {
    p.bridge->SetNotifyHandler([&p](const cluster::NotifyRequest& request,
                                    std::function<void(cluster::NotifyResponse)> done) {
      p.bootstrapper->OnNotify(request, std::move(done));
    });
  }
  if (config_.raft_remove_shutdown) {
    // The usual shutdown path (main waits for SIGTERM).
    store->SetOnRemoved([] {
      RQ_LOG_WARN("this node was removed from the cluster; shutting down (-raft-remove-shutdown)");
      kill(getpid(), SIGTERM);
    });
  }
  store->SetOnMemberRemoved([&p](const NodeId& id, const store::NodeAddress& address) {
    std::lock_guard lock(p.notices_mutex);
    p.removal_notices.push_back(std::async(std::launch::async, [&p, id, address] {
      cluster::RemoveRequest notice;
      notice.id = id.value();
      notice.credentials = p.node_credentials;
      notice.removed_notice = true;
      auto answer = p.client->Remove(address.raft_addr, notice, std::chrono::seconds(3));
      if (!answer.ok()) RQ_LOG_INFO("could not tell node {} it was removed: {}", id.value(), answer.status().ToString());
    }));
  });
  // The store first: what arrives on the Raft address goes straight to it.
  const bool bootstrap_single = !p.joining && !p.bootstrapping && !p.kv_forming && !config_.raft_non_voter;
  if (Status started = store->Start(bootstrap_single, p.bridge.get()); !started.ok()) {
    return Failed("failed to start store", started);
  }
  p.store_started = true;
  // Checked once the store knows its membership, before anything reaches
  // the network: joining would splice two histories, the other leader's
  // entries landing on this node's own log at the same indexes.
  if (has_state && LeadsItsOwnClusterButJoinsAnother(config_, store->status().raft.membership)) {
    return Failed("refusing to join",
                  Status::InvalidArgument("node " + config_.node_id + " already leads a cluster of its own (state in " +
                                          config_.data_path + "), so it cannot join another one; start it without "
                                          "-join, or with an empty data directory to join as a new node"));
  }
  if (Status listening = p.transport->Start(); !listening.ok()) {
    return Failed("failed to listen on the Raft address", listening);
  }
  p.transport_started = true;
  if (p.cdc) p.cdc->Start(store);
  if (p.kv_discovery) {
    p.kv_discovery->StartReporting([store] { return store->is_leader(); });
    p.reporting = true;
  }
  // Queued batches run like any write: on the leader, or forwarded to it.
  p.queue = std::make_unique<store::WriteQueue>(
      [&p](command::Request request, const store::WriteOptions& write, store::Done done) {
        http::CallOptions call;
        call.noparse = write.noparse;
        call.norwrandom = write.norwrandom;
        call.norwtime = write.norwtime;
        call.credentials = p.node_http_credentials;
        p.backend->Execute(std::move(request), call, std::move(done));
      },
      MakeQueueOptions(config_));
  p.backend = std::make_unique<StoreBackend>(store, p.queue.get(), p.client.get(), MakeIdentity(config_, version_));
  // Not ready until the auto-restored database is in (Start loads it).
  if (p.restore_path) p.backend->SetRestoring(true);
  if (p.kv_discovery) p.backend->AddStatusSection("disco", [&p] { return p.kv_discovery->Stats(); });
  if (p.cdc) p.backend->AddStatusSection("cdc", [&p] { return p.cdc->StatusJson(); });
  if (!config_.auto_backup_file.empty()) {
    auto auto_backup = AutoBackup::Start(config_.auto_backup_file, store, config_.data_path + "/tmp");
    if (!auto_backup.ok()) return Failed("failed to start auto-backup", auto_backup.status());
    p.auto_backup = std::move(auto_backup).value();
    p.backend->AddStatusSection("auto_backups", [&p] { return boost::json::value(p.auto_backup->StatusJson()); });
  }

  p.server = std::make_unique<http::Server>(MakeServerConfig(config_, version_), p.backend.get());
  Status listening = config_.auth_file.empty() ? Status::OK() : p.server->LoadAuthFile(config_.auth_file);
  if (listening.ok()) listening = p.server->Start();
  if (!listening.ok()) return Failed("failed to start HTTP server", listening);
  p.server_started = true;
  RQ_LOG_INFO("node {} serving HTTP on {} (data directory {})", config_.node_id, config_.http_addr, config_.data_path);
  if (!config_.otlp_endpoint.empty()) {
    StoreBackend* backend = p.backend.get();
    auto exporter = OtlpExporter::Start(MakeOtlpOptions(config_, version_),
                                                 [backend](metrics::Sink& sink) { backend->WriteMetrics(sink); });
    if (!exporter.ok()) return Failed("failed to start OTLP export", exporter.status());
    p.otlp = std::move(exporter).value();
    RQ_LOG_INFO("pushing metrics over OTLP to {} every {}s", config_.otlp_endpoint,
                std::chrono::duration_cast<std::chrono::seconds>(config_.otlp_interval).count());
  }
  return Status::OK();
}

Status Node::FormCluster() {
  Parts& p = *parts_;
  if (!p.joining && !p.bootstrapping && !p.kv_forming && !p.rejoining) return Status::OK();
  store::Store* store = p.store.get();
  auto on_target = [store](const std::string& address) { store->SetJoinHint(address); };
  Status formed = Status::OK();
  FormationInterrupt interruptible;
  if (p.rejoining) {
    // The cluster in this node's log may still have it: a failure here is
    // not fatal, the node goes on as that log says.
    Status joined = JoinCluster(p.client.get(), p.join_plan, on_target);
    if (joined.ok()) {
      RQ_LOG_INFO("node is a member of the cluster it joined through -join");
    } else {
      RQ_LOG_WARN("could not confirm membership through -join ({}); going on with the cluster in the log",
                  joined.ToString());
    }
  }
  if (p.joining) {
    // Not ready until the leader answers: it does once this node is a
    // voter (or still a learner after a while, a big snapshot copying).
    p.backend->SetJoining(true);
    formed = JoinCluster(p.client.get(), p.join_plan, on_target);
    p.backend->SetJoining(false);
  }
  if (p.bootstrapping) formed = p.bootstrapper->Run(on_target);
  if (p.kv_forming) formed = FormClusterWithKv(p.kv_discovery.get(), store, p.client.get(), p.join_plan, on_target);
  early_signal_ = interruptible.Finish();
  if (!formed.ok()) return Failed(p.joining ? "failed to join cluster" : "failed to form cluster", formed);
  return Status::OK();
}

int Node::WaitForSignal() {
  int signal_number = early_signal_ != 0 ? early_signal_ : WaitForShutdownSignal();
  RQ_LOG_INFO("received signal {}, shutting down", signal_number);
  return signal_number;
}

void Node::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  Parts& p = *parts_;
  if (!p.store_started) return;  // never started: nothing to hand over
  store::Store* store = p.store.get();
  if (config_.raft_shutdown_stepdown && store->is_leader() && store->status().raft.membership.voters.size() > 1) {
    // As long as rqlite's Raft gives a transfer: one election timeout. A
    // reachable follower takes over within a round trip or two; with none,
    // waiting longer only delays the exit.
    Status moved = p.backend->StepDown("", /*wait=*/true, config_.raft_election_timeout);
    RQ_LOG_INFO("stepping down before shutdown: {}", moved.ToString());
  }
  if (p.reaper) p.reaper->Stop();
  if (p.reporting) p.kv_discovery->StopReporting();
  p.reporting = false;
  // Any node but the only member of its cluster asks to be removed, even one
  // that has not yet received the configuration that lists it.
  const raft::Membership members = store->status().raft.membership;
  const bool alone = members.learners.empty() && members.voters.size() == 1 &&
                     members.voters[0] == NodeId(config_.node_id);
  if (config_.raft_cluster_remove_shutdown && !alone) {
    // A node that has just started may not have heard from the leader yet.
    for (int waited = 0; store->leader_id().empty() && waited < 50; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Status removed = p.backend->RemoveNodeAs(config_.node_id, std::chrono::seconds(10), p.node_http_credentials);
    RQ_LOG_INFO("removing this node from the cluster before shutdown: {}", removed.ToString());
  }
  StopParts();
  RQ_LOG_INFO("node {} stopped", config_.node_id);
}

void Node::StopParts() {
  Parts& p = *parts_;
  if (p.reporting) p.kv_discovery->StopReporting();
  p.reporting = false;
  // Outside work first (metrics push, HTTP, then what was queued), then the
  // peers, then the store, so nothing calls into a store that is closing.
  if (p.otlp) p.otlp->Stop();
  if (p.auto_backup) p.auto_backup->Stop();
  if (p.cdc) p.cdc->Stop();  // the sender; the apply thread still queues until the store stops
  if (p.server_started) p.server->Stop();
  p.server_started = false;
  if (p.queue) p.queue->Stop();
  // Forwarded requests still waiting for a leader are answered now, while
  // the HTTP server and backend they call back into still exist.
  if (p.client) p.client->Stop();
  if (p.transport_started) p.transport->Stop();
  p.transport_started = false;
  if (p.store_started) p.store->Stop();
  p.store_started = false;
  std::lock_guard lock(p.notices_mutex);
  for (auto& notice : p.removal_notices) notice.wait();
  p.profiles.Stop();
}

}  // namespace rq::node
