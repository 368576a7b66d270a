// rqlited: one node of the database. main() only wires: flags -> Config ->
// store, queue, HTTP server; then waits for SIGINT/SIGTERM and shuts down in
// the reverse order, so every acknowledged write is already durable.
#include <signal.h>
#include <sqlite3.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "base/logging.h"
#include "cluster/client.h"
#include "cluster/transport.h"
#include "cmd/config.h"
#include "cmd/join.h"
#include "cmd/store_backend.h"
#include "http/server.h"
#include "store/cluster_bridge.h"
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

store::WriteQueueOptions MakeQueueOptions(const cmd::Config& config) {
  store::WriteQueueOptions options;
  options.capacity = static_cast<size_t>(config.write_queue_capacity);
  options.batch_statements = static_cast<size_t>(config.write_queue_batch_size);
  options.flush_after = std::chrono::duration_cast<std::chrono::milliseconds>(config.write_queue_timeout);
  options.transaction = config.write_queue_tx;
  return options;
}

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
  cluster::Transport transport(transport_config, &bridge, &bridge, &bridge);
  bridge.Attach(&transport);
  cluster::Client::Config client_config;
  client_config.node_id = NodeId(config.node_id);
  client_config.max_frame_bytes = kMaxFrameBytes;
  cluster::Client client(client_config);

  bool has_state = (*store)->status().snapshot_index > LogIndex(0) || (*store)->has_log();
  bool joining = !config.join_targets.empty() && !has_state;
  if (!config.join_targets.empty() && has_state) {
    RQ_LOG_INFO("node already belongs to a cluster; ignoring -join");
  }
  // The store first: what arrives on the Raft address goes straight to it.
  Status started = (*store)->Start(/*bootstrap_single=*/!joining && !config.raft_non_voter, &bridge);
  if (!started.ok()) {
    std::fprintf(stderr, "fatal: failed to start store: %s\n", started.ToString().c_str());
    return 1;
  }
  if (Status listening = transport.Start(); !listening.ok()) {
    std::fprintf(stderr, "fatal: failed to listen on the Raft address: %s\n", listening.ToString().c_str());
    (*store)->Stop();
    return 1;
  }
  // Queued batches run like any write: on the leader, or forwarded to it.
  cmd::StoreBackend* queue_backend = nullptr;
  store::WriteQueue queue(
      [&queue_backend](command::Request request, const store::WriteOptions& write, store::Done done) {
        http::CallOptions call;
        call.noparse = write.noparse;
        call.norwrandom = write.norwrandom;
        call.norwtime = write.norwtime;
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
    queue.Stop();
    transport.Stop();
    (*store)->Stop();
    return 1;
  }
  RQ_LOG_INFO("node {} serving HTTP on {} (data directory {})", config.node_id, config.http_addr, config.data_path);

  if (joining) {
    cmd::JoinPlan plan;
    plan.targets = config.join_targets;
    plan.attempts = config.join_attempts;
    plan.interval = config.join_interval;
    plan.request.id = config.node_id;
    plan.request.raft_addr = config.raft_adv_addr;
    plan.request.api_addr = config.http_adv_addr;
    plan.request.voter = !config.raft_non_voter;
    auto on_target = [&store](const std::string& address) { (*store)->SetJoinHint(address); };
    if (Status joined = cmd::JoinCluster(&client, plan, on_target); !joined.ok()) {
      std::fprintf(stderr, "fatal: failed to join cluster: %s\n", joined.ToString().c_str());
      server.Stop();
      queue.Stop();
      transport.Stop();
      (*store)->Stop();
      return 1;
    }
  }

  int signal_number = WaitForSignal();
  RQ_LOG_INFO("received signal {}, shutting down", signal_number);
  if (config.raft_shutdown_stepdown && (*store)->is_leader() &&
      (*store)->status().raft.membership.voters.size() > 1) {
    Status moved = backend.StepDown("", /*wait=*/true, std::chrono::seconds(5));
    RQ_LOG_INFO("stepping down before shutdown: {}", moved.ToString());
  }
  // Outside work first (HTTP, then what was queued), then the peers, then the
  // store, so nothing calls into a store that is closing.
  server.Stop();
  queue.Stop();
  transport.Stop();
  (*store)->Stop();
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
