// StoreBackend's views for operators: GET /status (rqlite's handleStatus and
// Store.Stats, key for key where this node has the figure; see README "HTTP
// API") and GET /debug/vars (the metrics registry's maps, rqlite's expvar
// names). Both run on an HTTP I/O thread: nothing here may wait for the
// writer (db::Database::GetStats) or for the Raft loop (Store::status).
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sqlite3.h>

#include "base/go_format.h"
#include "metrics/metrics.h"
#include "node/dir_size.h"
#include "node/store_backend.h"
#include "store/store_metrics.h"

namespace rq::node {
namespace {

namespace json = boost::json;

std::string RoleName(raft::Role role) {
  switch (role) {
    case raft::Role::kLeader: return "Leader";
    case raft::Role::kCandidate: return "Candidate";
    case raft::Role::kPreCandidate: return "Candidate";
    case raft::Role::kFollower: return "Follower";
  }
  return "Unknown";
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  double seconds = std::chrono::duration<double>(d).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6fs", seconds);
  return buf;
}

// The process's threads (/proc/self/status "Threads:"); nullopt if unknown.
std::optional<int64_t> ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoll(line.substr(8));
  }
  return std::nullopt;
}

// os.Args, as Go's expvar "cmdline" shows it.
json::array CommandLine() {
  std::ifstream file("/proc/self/cmdline", std::ios::binary);
  std::stringstream contents;
  contents << file.rdbuf();
  const std::string all = contents.str();
  json::array args;
  for (size_t start = 0; start < all.size();) {
    const size_t end = std::min(all.find('\0', start), all.size());
    args.emplace_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

// Go's database/sql DBStats, as rqlite prints it. The pools never close a
// connection for being idle or old, so those three counts are 0.
json::object PoolJson(const db::PoolStats& pool) {
  return json::object{{"max_open_connections", pool.max_open_connections},
                      {"open_connections", pool.open_connections},
                      {"in_use", pool.in_use},
                      {"idle", pool.idle},
                      {"wait_count", pool.wait_count},
                      {"wait_duration", pool.wait_duration_ns},
                      {"max_idle_closed", 0},
                      {"max_idle_time_closed", 0},
                      {"max_lifetime_closed", 0}};
}

json::object PragmasJson(const db::Pragmas& pragmas) {
  json::object out;
  for (const auto& [name, value] : pragmas) out[name] = value;
  return out;
}

}  // namespace

json::value StoreBackend::DatabaseStatus() {
  const store::StoreOptions& options = store_->options();
  json::object sqlite{{"path", store_->paths().db},
                      {"version", sqlite3_libversion()},
                      // rqlite 7's form, kept for the clients that read it.
                      {"fk_constraints", options.foreign_keys ? "enabled" : "disabled"}};
  Result<db::Stats> stats = store_->database()->GetStats();
  if (!stats.ok()) {
    store::StoreCounters().num_db_stats_errors.Add();
    store::StoreStatus status = store_->status();
    sqlite["db_size"] = status.db_size_bytes;
    sqlite["wal_size"] = status.db_wal_bytes;
    return sqlite;
  }
  json::array compile_options;
  for (const std::string& option : stats->compile_options) compile_options.emplace_back(option);
  json::object mem_stats;
  for (const auto& [name, value] : stats->mem_stats) mem_stats[name] = value;
  sqlite["compile_options"] = std::move(compile_options);
  sqlite["mem_stats"] = std::move(mem_stats);
  sqlite["db_size"] = stats->db_size_bytes;
  sqlite["db_size_friendly"] = HumanizeBytes(stats->db_size_bytes);
  sqlite["size"] = stats->file_size_bytes;
  sqlite["wal_size"] = stats->wal_size_bytes;
  if (stats->last_modified) sqlite["last_modified"] = FormatRfc3339Nano(*stats->last_modified);
  sqlite["rw_dsn"] = stats->rw_dsn;
  sqlite["ro_dsn"] = stats->ro_dsn;
  sqlite["pragmas"] = json::object{{"rw", PragmasJson(stats->rw_pragmas)}, {"ro", PragmasJson(stats->ro_pragmas)}};
  // Readers roll back after every use, so no idle one is in a transaction.
  sqlite["transaction"] = json::object{{"rw", stats->rw_in_transaction}, {"ro", false}};
  sqlite["conn_pool_stats"] = json::object{{"rw", PoolJson(stats->rw_pool)}, {"ro", PoolJson(stats->ro_pool)}};
  return sqlite;
}

namespace {

// store.nodes: the members sorted by id, as rqlite's store.Server.
json::array MembersJson(const raft::Membership& membership, const store::NodeDirectory& directory) {
  std::vector<std::pair<NodeId, bool>> members;
  for (const NodeId& id : membership.voters) members.emplace_back(id, true);
  for (const NodeId& id : membership.learners) members.emplace_back(id, false);
  std::sort(members.begin(), members.end());
  json::array out;
  for (const auto& [id, voter] : members) {
    json::object member{{"id", id.value()}, {"suffrage", voter ? "Voter" : "Nonvoter"}};
    // omitempty in rqlite: an address not learnt yet is left out.
    if (std::optional<store::NodeAddress> address = directory.Get(id); address && !address->raft_addr.empty()) {
      member["addr"] = address->raft_addr;
    }
    out.push_back(std::move(member));
  }
  return out;
}

}  // namespace

json::value StoreBackend::Status() {
  store::StoreStatus status = store_->status();
  const store::StoreOptions& options = store_->options();
  auto now = std::chrono::system_clock::now();
  char hostname[256] = {0};
  ::gethostname(hostname, sizeof hostname - 1);

  json::object raft{
      {"state", RoleName(status.raft.role)},
      {"term", status.raft.term.value()},
      {"commit_index", status.raft.commit.value()},
      {"applied_index", status.applied.value()},
      {"last_log_index", status.raft.last_index.value()},
      {"last_log_term", status.raft.last_term.value()},
      {"last_snapshot_index", status.snapshot_index.value()},
      {"last_snapshot_term", status.snapshot_term.value()},
      {"snapshots_taken", status.snapshots_taken},
      // Members other than this node (a joining node may not be one yet).
      {"num_peers", status.raft.membership.voters.size() + status.raft.membership.learners.size() -
                        (status.raft.membership.Contains(NodeId(identity_.node_id)) ? 1 : 0)},
      {"voter", status.raft.membership.IsVoter(NodeId(identity_.node_id))},
      // The log's segment files (rqlite: the size of raft.db).
      {"log_size", DirectoryBytes(store_->paths().log_dir)},
  };
  // The leader's Raft address on every node, as rqlite reports it: tools
  // that wait for a cluster to form poll this field on each member.
  std::string leader_addr;
  if (status.raft.leader.value() == identity_.node_id) {
    leader_addr = identity_.raft_addr;
  } else if (std::optional<store::NodeAddress> known = store_->LeaderAddress()) {
    leader_addr = known->raft_addr;
  }
  json::object leader{{"node_id", status.raft.leader.value()}, {"addr", std::move(leader_addr)}};
  const uint64_t dir_size = DirectoryBytes(options.data_dir);
  json::object store{
      {"node_id", identity_.node_id},
      {"addr", identity_.raft_addr},
      {"raft", std::move(raft)},
      {"leader", std::move(leader)},
      {"ready", status.ready},
      {"fsm_index", status.applied.value()},
      {"fsm_term", status.applied_term.value()},
      {"fsm_update_time", status.applied_at ? FormatRfc3339Nano(*status.applied_at) : kGoZeroTime},
      {"db_applied_index", status.db_applied.value()},
      {"nodes", MembersJson(status.raft.membership, store_->directory())},
      {"dir", options.data_dir},
      {"dir_size", dir_size},
      {"dir_size_friendly", HumanizeBytes(dir_size)},
      {"sqlite3", DatabaseStatus()},
      {"db_conf", json::object{{"fk_constraints", options.foreign_keys}}},
      {"snapshot_threshold", options.snapshot_entries},
      {"trailing_logs", store_->trailing_entries()},
      {"snapshot_interval", FormatDuration(options.snapshot_interval)},
      {"apply_timeout", FormatDuration(options.apply_timeout)},
      {"election_timeout", FormatDuration(options.tick * options.election_ticks)},
      {"heartbeat_timeout", FormatDuration(options.tick * options.heartbeat_ticks)},
  };
  json::object http{{"bind_addr", identity_.http_bind_addr},
                    {"auth", identity_.auth_enabled ? "enabled" : "disabled"},
                    {"tls", json::object{{"enabled", identity_.tls_enabled}}},
                    {"allow_origin", identity_.allow_origin},
                    {"queue", json::object{{"_default", json::object{{"sequence_number", queue_->committed_sequence()}}}}}};
  auto uptime = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_time_);
  json::object runtime{{"GOARCH", "amd64"}, {"GOOS", "linux"},
                       {"num_cpu", std::thread::hardware_concurrency()}, {"version", identity_.compiler}};
  // Our own key: OS threads are not goroutines, so not rqlite's num_goroutine.
  if (std::optional<int64_t> threads = ThreadCount()) runtime["num_threads"] = *threads;
  const int64_t last_backup_ns = last_backup_ns_.load(std::memory_order_relaxed);
  json::value last_backup_time = nullptr;
  if (last_backup_ns != 0) {
    last_backup_time = FormatRfc3339Nano(std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(last_backup_ns))));
  }
  json::object out{
      {"os", json::object{{"pid", ::getpid()}, {"ppid", ::getppid()}, {"page_size", ::getpagesize()},
                          {"hostname", hostname}}},
      {"runtime", std::move(runtime)},
      {"node", json::object{{"start_time", std::chrono::duration_cast<std::chrono::seconds>(start_time_.time_since_epoch()).count()},
                            {"current_time", FormatRfc3339Nano(now)},
                            {"uptime", FormatDuration(uptime)}}},
      {"build", json::object{{"version", identity_.version}, {"commit", identity_.commit},
                             {"branch", identity_.branch},
                             {"build_time", identity_.build_time}, {"compiler", identity_.compiler}}},
      {"store", std::move(store)},
      {"http", std::move(http)},
      // rqlite's cluster service (the Raft port's RPCs).
      {"cluster", json::object{{"addr", identity_.raft_addr},
                               {"api_addr", identity_.api_addr},
                               {"https", identity_.tls_enabled ? "true" : "false"}}},
      {"last_backup_time", std::move(last_backup_time)},
  };
  for (const auto& [name, section] : status_sections_) out[name] = section();
  return out;
}

json::value StoreBackend::DebugVars() {
  json::object out{{"cmdline", CommandLine()}};
  for (const auto& [group, counters] : metrics::Registry::Default().Read()) {
    json::object map;
    for (const auto& [key, value] : counters) map[key] = value;
    out[group] = std::move(map);
  }
  // Ours before the rqlite counters existed; kept for the scripts that read them.
  store::StoreStatus status = store_->status();
  json::value& store = out["store"];
  if (!store.is_object()) store = json::object();
  store.as_object()["applied_index"] = status.applied.value();
  store.as_object()["commit_index"] = status.raft.commit.value();
  store.as_object()["snapshots_taken"] = status.snapshots_taken;
  return out;
}

}  // namespace rq::node
