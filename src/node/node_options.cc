// The flags' values turned into each part's options. Durations arrive as
// Go durations (nanoseconds) and leave in the units each part counts in.
#include "node/node_options.h"

#include "base/build_info.h"

#include <algorithm>
#include <chrono>

namespace rq::node {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::pair<std::string, std::string> SplitHostPort(const std::string& addr) {
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, addr.substr(colon + 1)};
}

store::StoreOptions MakeStoreOptions(const config::Config& config) {
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
  if (config.raft_leader_lease_timeout.count() > 0) {
    // Rounded up to whole ticks; validation keeps it within [2, election_ticks].
    const auto lease = duration_cast<milliseconds>(config.raft_leader_lease_timeout);
    const int64_t ticks = (lease.count() + options.tick.count() - 1) / options.tick.count();
    options.lease_ticks = static_cast<uint32_t>(std::clamp<int64_t>(ticks, 2, options.election_ticks));
  }
  options.commit_timeout = duration_cast<milliseconds>(config.raft_commit_timeout);
  options.snapshot_entries = config.raft_snap_entries;
  options.snapshot_wal_bytes = config.raft_snap_wal_size_bytes;
  options.snapshot_interval = duration_cast<milliseconds>(config.raft_snap_interval);
  options.auto_vacuum_interval = duration_cast<milliseconds>(config.auto_vacuum_interval);
  options.auto_optimize_interval = duration_cast<milliseconds>(config.auto_optimize_interval);
  options.apply_timeout = duration_cast<milliseconds>(config.raft_apply_timeout);
  options.foreign_keys = config.fk;
  options.max_read_connections = config.db_max_ro_conns;
  options.raft_log_level = config.raft_log_level;
  return options;
}

cluster::TlsOptions MakeNodeTlsOptions(const config::Config& config) {
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

store::WriteQueueOptions MakeQueueOptions(const config::Config& config) {
  store::WriteQueueOptions options;
  options.capacity = static_cast<size_t>(config.write_queue_capacity);
  options.batch_statements = static_cast<size_t>(config.write_queue_batch_size);
  options.flush_after = duration_cast<milliseconds>(config.write_queue_timeout);
  options.transaction = config.write_queue_tx;
  return options;
}

http::Config MakeServerConfig(const config::Config& config, const std::string& version) {
  http::Config server;
  auto [host, port] = SplitHostPort(config.http_addr);
  server.address = host.empty() ? "0.0.0.0" : host;
  server.port = static_cast<uint16_t>(std::stoi(port));
  server.version = version;
  server.allow_origin = config.http_allow_origin;
  server.temp_dir = config.data_path + "/tmp";
  server.cert_file = config.http_cert;
  server.key_file = config.http_key;
  server.ca_file = config.http_ca_cert;
  server.verify_client = config.http_verify_client;
  server.verify_common_name = config.http_verify_common_name;
  return server;
}

NodeIdentity MakeIdentity(const config::Config& config, const std::string& version) {
  NodeIdentity identity;
  identity.node_id = config.node_id;
  identity.api_addr = config.http_adv_addr;
  identity.raft_addr = config.raft_adv_addr;
  identity.http_bind_addr = config.http_addr;
  identity.version = version;
  identity.commit = ThisBuild().commit;
  identity.branch = ThisBuild().branch;
  identity.build_time = ThisBuild().build_time;
  identity.compiler = "gcc " __VERSION__;
  identity.auth_enabled = !config.auth_file.empty();
  identity.tls_enabled = !config.http_cert.empty();
  identity.allow_origin = config.http_allow_origin;
  return identity;
}

OtlpOptions MakeOtlpOptions(const config::Config& config, const std::string& version) {
  OtlpOptions options;
  options.endpoint = config.otlp_endpoint;
  options.interval = std::chrono::duration_cast<std::chrono::nanoseconds>(config.otlp_interval);
  options.insecure = config.otlp_insecure;
  options.no_verify = config.otlp_no_verify;
  options.ca_cert_file = config.otlp_ca_cert;
  options.cert_file = config.otlp_cert;
  options.key_file = config.otlp_key;
  options.resource = {{"service.name", "rqlite"},
                      {"service.instance.id", config.node_id},
                      {"service.version", version},
                      {"rqlite.raft_addr", config.raft_adv_addr},
                      {"rqlite.http_addr", config.http_adv_addr}};
  return options;
}

}  // namespace rq::node
