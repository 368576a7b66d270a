// The "db" map of /debug/vars, with rqlite's key names (db/db.go). Counted
// on every replica: each one runs every write on its own database.
//
// Thread-safety: see metrics/metrics.h.
#pragma once

#include <cstddef>

#include "command/types.h"
#include "metrics/metrics.h"

namespace rq::db {

struct DbMetrics {
  metrics::Group group{"db"};
  metrics::Counter& open_duration_ms = group.Key("open_duration_ms");  // Set
  // Statements of /db/execute (and queued) writes, and those that failed.
  metrics::Counter& executions = group.Key("executions");
  metrics::Counter& execution_errors = group.Key("execution_errors");
  // Statements of reads, and those that failed.
  metrics::Counter& queries = group.Key("queries");
  metrics::Counter& query_errors = group.Key("query_errors");
  // Reads answered on the HTTP thread that received them (QueryQuickly).
  metrics::Counter& quick_queries = group.Key("quick_queries");
  // Statements of /db/request calls that went through the log.
  metrics::Counter& requests = group.Key("requests");
  // Requests run inside one transaction because of ?transaction.
  metrics::Counter& execute_transactions = group.Key("execute_transactions");
  metrics::Counter& query_transactions = group.Key("query_transactions");
  metrics::Counter& request_transactions = group.Key("request_transactions");
  // Checkpoint(): the snapshot's wal_checkpoint(TRUNCATE).
  metrics::Counter& checkpoints = group.Key("checkpoints");
  metrics::Counter& checkpoint_errors = group.Key("checkpoint_errors");
  metrics::Counter& checkpoint_duration_ms = group.Key("checkpoint_duration_ms");  // Set
};
DbMetrics& DbCounters();
// The failed statements of a response (its request-level error counts as one).
size_t FailedStatements(const command::Response& response);

}  // namespace rq::db
