// The store's maps of /debug/vars, with rqlite's key names: "store" (its
// store/store.go counters), "queue" (queue/queue.go) and "cluster" (the
// server side of cluster/service.go, counted where the cluster RPCs reach
// the store: cluster_bridge.cc). Building a struct registers its keys at 0.
//
// Thread-safety: see metrics/metrics.h; StoreCounters() and the others may be called
// from any thread.
#pragma once

#include "metrics/metrics.h"
#include "metrics/prometheus.h"

namespace rq::store {

struct StoreMetrics {
  metrics::Group group{"store"};
  // Every snapshot of the state machine, whatever asked for it.
  metrics::Counter& num_snapshots = group.Key("num_snapshots");
  metrics::Counter& num_snapshots_failed = group.Key("num_snapshots_failed");
  // Store::Snapshot: POST /snapshot.
  metrics::Counter& num_user_snapshots = group.Key("num_user_snapshots");
  metrics::Counter& num_user_snapshots_failed = group.Key("num_user_snapshots_failed");
  // Snapshots taken because the SQLite WAL outgrew -raft-snap-wal-size;
  // num_wal_snapshots counts the attempts, failed ones included (as rqlite).
  metrics::Counter& num_wal_snapshots = group.Key("num_wal_snapshots");
  metrics::Counter& num_wal_snapshots_failed = group.Key("num_wal_snapshots_failed");
  metrics::Counter& snapshot_create_duration = group.Key("snapshot_create_duration");  // Set, ms
  metrics::Counter& num_boots = group.Key("num_boots");
  metrics::Counter& num_backups = group.Key("num_backups");
  metrics::Counter& num_loads = group.Key("num_loads");
  // A snapshot received from the leader installed into the database.
  metrics::Counter& num_restores = group.Key("num_restores");
  metrics::Counter& num_restores_failed = group.Key("num_restores_failed");
  metrics::Counter& num_recoveries = group.Key("num_recoveries");  // raft/peers.json
  metrics::Counter& num_joins = group.Key("num_joins");
  metrics::Counter& num_ignored_joins = group.Key("num_ignored_joins");
  // Ours: learners that joined to be voters, promoted once caught up.
  metrics::Counter& num_promotions = group.Key("num_promotions");
  // Ours: runs of consecutive writes applied in one SQLite transaction
  // (Store::ApplyGroup), and those run again one by one because together
  // they could have given other results.
  metrics::Counter& num_apply_groups = group.Key("num_apply_groups");
  metrics::Counter& num_apply_group_fallbacks = group.Key("num_apply_group_fallbacks");
  metrics::Counter& num_removed_before_joins = group.Key("num_removed_before_joins");
  metrics::Counter& num_db_stats_errors = group.Key("num_db_stats_errors");
  metrics::Counter& leader_changes_observed = group.Key("leader_changes_observed");
  // -auto-vacuum-int and -auto-optimize-int (store/maintenance.h); durations Set, ms.
  metrics::Counter& num_auto_vacuums = group.Key("num_auto_vacuums");
  metrics::Counter& num_auto_vacuums_failed = group.Key("num_auto_vacuums_failed");
  metrics::Counter& auto_vacuum_duration = group.Key("auto_vacuum_duration");
  metrics::Counter& num_auto_optimizes = group.Key("num_auto_optimizes");
  metrics::Counter& num_auto_optimizes_failed = group.Key("num_auto_optimizes_failed");
  metrics::Counter& auto_optimize_duration = group.Key("auto_optimize_duration");
  metrics::Counter& nodes_reaped_ok = group.Key("nodes_reaped_ok");
  metrics::Counter& nodes_reaped_failed = group.Key("nodes_reaped_failed");
};
StoreMetrics& StoreCounters();

struct QueueMetrics {
  metrics::Group group{"queue"};
  metrics::Counter& objects_rx = group.Key("objects_rx");  // statements queued
  metrics::Counter& objects_tx = group.Key("objects_tx");  // statements sent on in batches
  metrics::Counter& num_timeout = group.Key("num_timeout");  // batches sent because -write-queue-timeout passed
  // Batches sent because something asked for a flush. Nothing does (?wait
  // waits for the next batch), so it stays 0, as in rqlite's HTTP service.
  metrics::Counter& num_flush = group.Key("num_flush");
};
QueueMetrics& QueueCounters();

struct ClusterServiceMetrics {
  metrics::Group group{"cluster"};
  metrics::Counter& num_get_node_api_req = group.Key("num_get_node_api_req");
  metrics::Counter& num_execute_req = group.Key("num_execute_req");
  metrics::Counter& num_query_req = group.Key("num_query_req");
  metrics::Counter& num_request_req = group.Key("num_request_req");
  // One per backup, not per chunk of it.
  metrics::Counter& num_backup_req = group.Key("num_backup_req");
  metrics::Counter& num_load_req = group.Key("num_load_req");
  metrics::Counter& num_remove_node_req = group.Key("num_remove_node_req");
  metrics::Counter& num_notify_req = group.Key("num_notify_req");
  metrics::Counter& num_join_req = group.Key("num_join_req");
  metrics::Counter& num_stepdown_req = group.Key("num_stepdown_req");
  // Not in rqlite: followers asking this leader for a linearizable read's index.
  metrics::Counter& num_read_index_req = group.Key("num_read_index_req");
};
ClusterServiceMetrics& ClusterCounters();

// The store's Prometheus series (/metrics). Values read at scrape time
// (term, indexes, sizes) are not here: node/ writes them from status().
struct StoreSeries {
  metrics::Exposition& e = metrics::Exposition::Default();
  metrics::Counter& snapshots_ok = e.Counter("rqlite_snapshots_total", "Snapshots of the state machine taken, by result.", {{"result", "ok"}});
  metrics::Counter& snapshots_failed = e.Counter("rqlite_snapshots_total", "", {{"result", "failed"}});
  metrics::Histogram& snapshot_duration = e.Histogram("rqlite_snapshot_duration_seconds", "Time to take a snapshot of the state machine.");
  metrics::Counter& restores_ok = e.Counter("rqlite_restores_total", "Snapshots received from the leader and installed, by result.", {{"result", "ok"}});
  metrics::Counter& restores_failed = e.Counter("rqlite_restores_total", "", {{"result", "failed"}});
  metrics::Histogram& restore_duration = e.Histogram("rqlite_restore_duration_seconds", "Time to install a snapshot received from the leader.");
  metrics::Counter& elections = e.Counter("rqlite_raft_elections_total", "Elections this node started as a candidate.");
  metrics::Counter& leader_changes = e.Counter("rqlite_raft_leader_changes_total", "Changes of the leader this node knows, to none included.");
  metrics::Counter& applied_entries = e.Counter("rqlite_raft_applied_entries_total", "Log entries applied to the state machine.");
  metrics::Counter& write_queue_depth = e.Gauge("rqlite_write_queue_depth", "Requests waiting in the write queue (?queue).");
  metrics::Counter& read_pool_workers = e.Gauge("rqlite_read_pool_workers", "Threads of the read pool.");
  metrics::Counter& read_pool_busy = e.Gauge("rqlite_read_pool_busy_workers", "Read-pool threads running a query.");
  metrics::Counter& read_pool_queued = e.Gauge("rqlite_read_pool_queued", "Queries waiting for a read-pool thread.");
};
StoreSeries& Series();

// Registers every key of the three maps (at startup, so /debug/vars lists
// them before the first event).
void RegisterMetrics();

}  // namespace rq::store
