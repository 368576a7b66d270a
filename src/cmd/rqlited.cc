// rqlited: one node of the database. main() only wires: flags -> Config ->
// store, queue, HTTP server; then waits for SIGINT/SIGTERM and shuts down in
// the reverse order, so every acknowledged write is already durable.
#include <signal.h>
#include <unistd.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "base/logging.h"
#include "cluster/client.h"
#include "cluster/transport.h"
#include "cmd/bootstrap.h"
#include "cmd/config.h"
#include "cmd/disco.h"
#include "cmd/disco_service.h"
#include "cmd/join.h"
#include "cmd/store_backend.h"
#include "http/auth.h"
#include "http/server.h"
#include "store/cluster_bridge.h"
#include "store/reaper.h"
#include "store/store.h"
#include "store/write_queue.h"

namespace {

using namespace rq;

constexpr const char* kVersion = "v0.1.0";
// Above http::Config::max_body_bytes (64 MiB) plus framing and encoding.
constexpr size_t kMaxFrameBytes = size_t{96} << 20;

cmd::BuildInfo MakeBuildInfo() {
  cmd::BuildInfo build;
  build.version = kVersion;
  build.sqlite_version = sqlite3_libversion();
#ifdef RQ_GIT_COMMIT
  build.commit = RQ_GIT_COMMIT;
#endif
  return build;
}

// host:port -> host and port; "" host means all interfaces.
std::pair<std::string, std::string> SplitHostPort(const std::string& addr) {
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, addr.substr(colon + 1)};
}

store::StoreOptions MakeStoreOptions(const cmd::Config& config) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  store::StoreOptions options;
  options.data_dir = config.data_path;
  options.node_id = NodeId(config.node_id);
  options.raft_addr = config.raft_adv_addr;
  options.api_addr = config.http_adv_addr;
  // Time in the core is ticks: a tenth of the election timeout each, so the
  // randomized timeout keeps a useful resolution.
  auto election = duration_cast<milliseconds>(config.raft_election_timeout);
  options.tick = std::max(milliseconds(10), election / 10);
  options.election_ticks = static_cast<uint32_t>(std::max<int64_t>(2, election / options.tick));
  options.heartbeat_ticks = 1;
  options.snapshot_entries = config.raft_snap_entries;
  options.snapshot_wal_bytes = config.raft_snap_wal_size_bytes;
  options.snapshot_interval = duration_cast<milliseconds>(config.raft_snap_interval);
  options.apply_timeout = duration_cast<milliseconds>(config.raft_apply_timeout);
  options.foreign_keys = config.fk;
  options.max_read_connections = config.db_max_ro_conns;
  options.raft_log_level = config.raft_log_level;
  return options;
}

cluster::TlsOptions NodeTlsOptions(const cmd::Config& config) {
  cluster::TlsOptions tls;
  tls.cert_file = config.node_cert;
  tls.key_file = config.node_key;
  tls.ca_file = config.node_ca_cert;
  tls.no_verify = config.node_no_verify;
  tls.verify_client = config.node_verify_client;
  tls.server_name = config.node_verify_server_name;
  tls.common_name = config.node_verify_common_name;
  return tls;
}

store::WriteQueueOptions MakeQueueOptions(const cmd::Config& config) {
  store::WriteQueueOptions options;
  options.capacity = static_cast<size_t>(config.write_queue_capacity);
  options.batch_statements = static_cast<size_t>(config.write_queue_batch_size);
  options.flush_after = std::chrono::duration_cast<std::chrono::milliseconds>(config.write_queue_timeout);
  options.transaction = config.write_queue_tx;
  return options;
}

// While the node forms or joins a cluster (which can take minutes), SIGINT
// and SIGTERM still stop it. A formation that ends within a short grace
// goes on to the normal shutdown; otherwise the process exits at once:
// nothing has been acknowledged to anyone yet and whatever Raft state
// arrived is already durable, so that is as safe as the kill -9 the tests
// exercise.
class FormationInterrupt {
 public:
  FormationInterrupt()
      : thread_([this] {
          sigset_t signals;
          sigemptyset(&signals);
          sigaddset(&signals, SIGINT);
          sigaddset(&signals, SIGTERM);
          const timespec tick{0, 100 * 1000 * 1000};
          while (!done_.load()) {
            int received = sigtimedwait(&signals, nullptr, &tick);
            if (received <= 0) continue;
            received_ = received;
            for (int waited = 0; waited < 20 && !done_.load(); ++waited) {
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (done_.load()) return;
            RQ_LOG_WARN("received signal {} before the node joined a cluster; exiting", received);
            spdlog::shutdown();
            std::_Exit(1);
          }
        }) {}
  ~FormationInterrupt() { Finish(); }
  // Formation ended; returns the signal received meanwhile, or 0.
  int Finish() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return received_.load();
  }

 private:
  std::atomic<bool> done_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

int WaitForSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

int Run(const cmd::Config& config) {
  spdlog::set_level(spdlog::level::info);
  for (const std::string& note : config.legacy_notes) RQ_LOG_INFO("{}", note);
  auto store = store::Store::Open(MakeStoreOptions(config));
  if (!store.ok()) {
    std::fprintf(stderr, "fatal: failed to open store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::string scheme = config.http_cert.empty() ? "http://" : "https://";
  store::ClusterBridge bridge(store->get(), scheme + config.http_adv_addr, kVersion);
  cluster::Transport::Config transport_config;
  transport_config.bind_addr = config.raft_addr;
  transport_config.node_id = NodeId(config.node_id);
  transport_config.connect_timeout = config.cluster_connect_timeout;
  // One LOAD entry may carry a whole database up to the HTTP body limit;
  // every Raft message is one frame, so the cap must exceed that limit.
  transport_config.max_frame_bytes = kMaxFrameBytes;
  transport_config.on_unreachable = [&store](const NodeId& peer) { (*store)->ReportUnreachable(peer); };
  transport_config.on_snapshot_done = [&store](const NodeId& peer, bool ok) { (*store)->ReportSnapshot(peer, ok); };
  transport_config.tls = NodeTlsOptions(config);
  transport_config.compress_snapshots = config.compress_snap_transport;
  cluster::Transport transport(transport_config, &bridge, &bridge, &bridge);
  bridge.Attach(&transport);
  cluster::Client::Config client_config;
  client_config.node_id = NodeId(config.node_id);
  client_config.max_frame_bytes = kMaxFrameBytes;
  client_config.tls = NodeTlsOptions(config);
  cluster::Client client(client_config);
  // -auth: RPCs from other nodes are checked too (API.md 4.4, 4.9).
  // -join-as: this node's own credentials for join, notify and remove.
  http::AuthStore node_auth;
  cluster::Credentials node_credentials;
  if (!config.auth_file.empty()) {
    if (Status loaded = node_auth.LoadFile(config.auth_file); !loaded.ok()) {
      std::fprintf(stderr, "fatal: failed to load -auth file: %s\n", loaded.ToString().c_str());
      return 1;
    }
    bridge.SetAuthorizer([&node_auth](const cluster::Credentials& c, std::string_view perm) {
      std::optional<http::Credentials> credentials;
      if (c.present) credentials = http::Credentials{c.username, c.password};
      return node_auth.IsAllowed(credentials, perm);
    });
  }
  if (!config.join_as.empty()) {
    auto credentials = cmd::JoinAsCredentials(config.auth_file, config.join_as);
    if (!credentials.ok()) {
      std::fprintf(stderr, "fatal: %s\n", credentials.status().ToString().c_str());
      return 1;
    }
    node_credentials = std::move(credentials).value();
  }
  std::optional<http::Credentials> node_http_credentials;  // the same, for backend calls
  if (node_credentials.present) node_http_credentials = http::Credentials{node_credentials.username, node_credentials.password};

  bool has_state = (*store)->status().snapshot_index > LogIndex(0) || (*store)->has_log();
  // Discovery and joining are for nodes that belong to no cluster yet.
  bool bootstrapping = config.bootstrap_expect > 0 && !has_state;
  bool joining = !config.join_targets.empty() && !has_state && !bootstrapping;
  if ((!config.join_targets.empty() || config.bootstrap_expect > 0) && has_state) {
    RQ_LOG_INFO("node already belongs to a cluster; ignoring -join and -bootstrap-expect");
  }
  // Consul/etcd: every node reports to the key while it leads; only a node
  // with no state forms or joins the cluster through it.
  std::unique_ptr<cmd::KvDiscovery> kv_discovery;
  if (cmd::IsKvDiscoMode(config.disco_mode)) {
    auto made = cmd::MakeKvDiscovery(config, std::chrono::seconds(5));
    if (!made.ok()) {
      std::fprintf(stderr, "fatal: %s\n", made.status().ToString().c_str());
      return 1;
    }
    kv_discovery = std::move(made).value();
    if (has_state) RQ_LOG_INFO("node already belongs to a cluster; not registering with {}", config.disco_mode);
  }
  const bool kv_forming = kv_discovery != nullptr && !has_state;
  cmd::JoinPlan join_plan;
  join_plan.targets = config.join_targets;
  join_plan.attempts = config.join_attempts;
  join_plan.interval = config.join_interval;
  join_plan.request.id = config.node_id;
  join_plan.request.raft_addr = config.raft_adv_addr;
  join_plan.request.api_addr = config.http_adv_addr;
  join_plan.request.voter = !config.raft_non_voter;
  join_plan.request.credentials = node_credentials;
  cmd::BootstrapPlan bootstrap_plan;
  if (!config.disco_mode.empty() && !kv_discovery && !has_state) {
    Result<std::string> disco_config = cmd::ReadDiscoConfig(config.disco_config);
    Result<cmd::Discovery> discovery = disco_config.ok()
        ? cmd::MakeDnsDiscovery(config.disco_mode, *disco_config,
                                config.raft_adv_addr.substr(config.raft_adv_addr.rfind(':') + 1))
        : Result<cmd::Discovery>(disco_config.status());
    if (!discovery.ok()) {
      std::fprintf(stderr, "fatal: %s\n", discovery.status().ToString().c_str());
      return 1;
    }
    bootstrap_plan.discover = *discovery;
    if (!bootstrapping) {
      // A read replica: join whatever the names resolve to now.
      joining = true;
      for (int64_t attempt = 0; join_plan.targets.empty() && attempt < config.join_attempts; ++attempt) {
        if (auto found = (*discovery)(); found.ok()) {
          for (const std::string& address : *found) join_plan.targets.push_back(cmd::JoinTarget{address, ""});
        }
        if (join_plan.targets.empty() && attempt + 1 < config.join_attempts) {
          std::this_thread::sleep_for(config.join_interval);
        }
      }
    }
  }
  bootstrap_plan.join = join_plan;
  bootstrap_plan.expect = config.bootstrap_expect;
  bootstrap_plan.timeout = config.bootstrap_expect_timeout;
  cmd::Bootstrapper bootstrapper(store->get(), &client, bootstrap_plan);
  if (bootstrapping) {
    bridge.SetNotifyHandler([&bootstrapper](const cluster::NotifyRequest& request,
                                            std::function<void(cluster::NotifyResponse)> done) {
      bootstrapper.OnNotify(request, std::move(done));
    });
  }
  if (config.raft_remove_shutdown) {
    // The usual shutdown path (main waits for SIGTERM).
    (*store)->SetOnRemoved([] {
      RQ_LOG_WARN("this node was removed from the cluster; shutting down (-raft-remove-shutdown)");
      kill(getpid(), SIGTERM);
    });
  }
  // A removed node is told so by the leader (see Store::SetOnMemberRemoved);
  // the notices run off the Raft and apply threads and are waited for at exit.
  std::mutex notices_mutex;
  std::vector<std::future<void>> removal_notices;
  (*store)->SetOnMemberRemoved([&](const NodeId& id, const store::NodeAddress& address) {
    std::lock_guard lock(notices_mutex);
    removal_notices.push_back(std::async(std::launch::async, [&client, &node_credentials, id, address] {
      cluster::RemoveRequest notice;
      notice.id = id.value();
      notice.credentials = node_credentials;
      notice.removed_notice = true;
      auto answer = client.Remove(address.raft_addr, notice, std::chrono::seconds(3));
      if (!answer.ok()) RQ_LOG_INFO("could not tell node {} it was removed: {}", id.value(), answer.status().ToString());
    }));
  });
  // The store first: what arrives on the Raft address goes straight to it.
  Status started =
      (*store)->Start(/*bootstrap_single=*/!joining && !bootstrapping && !kv_forming && !config.raft_non_voter,
                        &bridge);
  if (!started.ok()) {
    std::fprintf(stderr, "fatal: failed to start store: %s\n", started.ToString().c_str());
    return 1;
  }
  if (Status listening = transport.Start(); !listening.ok()) {
    std::fprintf(stderr, "fatal: failed to listen on the Raft address: %s\n", listening.ToString().c_str());
    (*store)->Stop();
    return 1;
  }
  if (kv_discovery) kv_discovery->StartReporting([&store] { return (*store)->is_leader(); });
  // Queued batches run like any write: on the leader, or forwarded to it.
  cmd::StoreBackend* queue_backend = nullptr;
  store::WriteQueue queue(
      [&queue_backend, &node_http_credentials](command::Request request, const store::WriteOptions& write, store::Done done) {
        http::CallOptions call;
        call.noparse = write.noparse;
        call.norwrandom = write.norwrandom;
        call.norwtime = write.norwtime;
        call.credentials = node_http_credentials;  // a forwarded batch is checked on the leader
        queue_backend->Execute(std::move(request), call, std::move(done));
      },
      MakeQueueOptions(config));

  cmd::NodeIdentity identity;
  identity.node_id = config.node_id;
  identity.api_addr = config.http_adv_addr;
  identity.raft_addr = config.raft_adv_addr;
  identity.http_bind_addr = config.http_addr;
  identity.version = kVersion;
  identity.compiler = "gcc " __VERSION__;
  identity.auth_enabled = !config.auth_file.empty();
  identity.tls_enabled = !config.http_cert.empty();
  identity.allow_origin = config.http_allow_origin;
  cmd::StoreBackend backend(store->get(), &queue, &client, identity);
  if (kv_discovery) backend.AddStatusSection("disco", [&kv_discovery] { return kv_discovery->Stats(); });
  queue_backend = &backend;

  http::Config server_config;
  auto [host, port] = SplitHostPort(config.http_addr);
  server_config.address = host.empty() ? "0.0.0.0" : host;
  server_config.port = static_cast<uint16_t>(std::stoi(port));
  server_config.version = kVersion;
  server_config.allow_origin = config.http_allow_origin;
  server_config.temp_dir = config.data_path + "/tmp";
  server_config.cert_file = config.http_cert;
  server_config.key_file = config.http_key;
  server_config.ca_file = config.http_ca_cert;
  server_config.verify_client = config.http_verify_client;
  http::Server server(server_config, &backend);
  Status listening = config.auth_file.empty() ? Status::OK() : server.LoadAuthFile(config.auth_file);
  if (listening.ok()) listening = server.Start();
  if (!listening.ok()) {
    std::fprintf(stderr, "fatal: failed to start HTTP server: %s\n", listening.ToString().c_str());
    if (kv_discovery) kv_discovery->StopReporting();
    queue.Stop();
    transport.Stop();
    (*store)->Stop();
    return 1;
  }
  RQ_LOG_INFO("node {} serving HTTP on {} (data directory {})", config.node_id, config.http_addr, config.data_path);

  auto on_target = [&store](const std::string& address) { (*store)->SetJoinHint(address); };
  Status formed = Status::OK();
  int early_signal = 0;
  if (joining || bootstrapping || kv_forming) {
    FormationInterrupt interruptible;
    if (joining) formed = cmd::JoinCluster(&client, join_plan, on_target);
    if (bootstrapping) formed = bootstrapper.Run(on_target);
    if (kv_forming) formed = cmd::FormClusterWithKv(kv_discovery.get(), store->get(), &client, join_plan, on_target);
    early_signal = interruptible.Finish();
  }
  if (!formed.ok()) {
    std::fprintf(stderr, "fatal: failed to %s cluster: %s\n", joining ? "join" : "form", formed.ToString().c_str());
    if (kv_discovery) kv_discovery->StopReporting();
    server.Stop();
    queue.Stop();
    client.Stop();
    transport.Stop();
    (*store)->Stop();
    return 1;
  }
  store::ReaperOptions reap;
  reap.voter_timeout = config.raft_reap_node_timeout;
  reap.learner_timeout = config.raft_reap_read_only_node_timeout;
  store::Reaper reaper(store->get(), reap);
  reaper.Start();

  int signal_number = early_signal != 0 ? early_signal : WaitForSignal();
  RQ_LOG_INFO("received signal {}, shutting down", signal_number);
  if (config.raft_shutdown_stepdown && (*store)->is_leader() &&
      (*store)->status().raft.membership.voters.size() > 1) {
    // As long as rqlite's Raft gives a transfer: one election timeout. A
    // reachable follower takes over within a round trip or two; with none,
    // waiting longer only delays the exit.
    Status moved = backend.StepDown("", /*wait=*/true, config.raft_election_timeout);
    RQ_LOG_INFO("stepping down before shutdown: {}", moved.ToString());
  }
  reaper.Stop();
  if (kv_discovery) kv_discovery->StopReporting();
  // Any node but the only member of its cluster asks to be removed, even one
  // that has not yet received the configuration that lists it.
  const raft::Membership members = (*store)->status().raft.membership;
  const bool alone = members.learners.empty() && members.voters.size() == 1 &&
                     members.voters[0] == NodeId(config.node_id);
  if (config.raft_cluster_remove_shutdown && !alone) {
    // A node that has just started may not have heard from the leader yet.
    for (int waited = 0; (*store)->leader_id().empty() && waited < 50; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Status removed = backend.RemoveNodeAs(config.node_id, std::chrono::seconds(10), node_http_credentials);
    RQ_LOG_INFO("removing this node from the cluster before shutdown: {}", removed.ToString());
  }
  // Outside work first (HTTP, then what was queued), then the peers, then the
  // store, so nothing calls into a store that is closing.
  server.Stop();
  queue.Stop();
  // Forwarded requests still waiting for a leader are answered now, while
  // the HTTP server and backend they call back into still exist.
  client.Stop();
  transport.Stop();
  (*store)->Stop();
  {
    std::lock_guard lock(notices_mutex);
    for (auto& notice : removal_notices) notice.wait();
  }
  RQ_LOG_INFO("node {} stopped", config.node_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // SQLite's memory statistics take a process-wide mutex on every
  // allocation; nothing here reads them. Must precede any SQLite use.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // Block the shutdown signals in every thread; main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  cmd::ParseResult parsed = cmd::ParseAndValidate(args, MakeBuildInfo());
  if (!parsed.stdout_text.empty()) std::fputs(parsed.stdout_text.c_str(), stdout);
  if (!parsed.stderr_text.empty()) std::fputs(parsed.stderr_text.c_str(), stderr);
  if (!parsed.config) return parsed.exit_code;
  return Run(*parsed.config);
}
