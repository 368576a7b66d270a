// The "proxy" map of /debug/vars, with rqlite v10's key names
// (proxy/proxy.go): requests this node forwarded to the leader because it
// was not the leader itself, and those that failed (the leader could not be
// reached, or answered with an error). Counted by StoreBackend.
//
// Thread-safety: see metrics/metrics.h.
#pragma once

#include "metrics/metrics.h"

namespace rq::node {

struct ProxyMetrics {
  metrics::Group group{"proxy"};
  metrics::Counter& remote_executions = group.Key("remote_executions");
  metrics::Counter& remote_executions_failed = group.Key("remote_executions_failed");
  metrics::Counter& remote_queries = group.Key("remote_queries");
  metrics::Counter& remote_queries_failed = group.Key("remote_queries_failed");
  metrics::Counter& remote_requests = group.Key("remote_requests");
  metrics::Counter& remote_requests_failed = group.Key("remote_requests_failed");
  metrics::Counter& remote_backups = group.Key("remote_backups");
  metrics::Counter& remote_loads = group.Key("remote_loads");
  metrics::Counter& remote_remove_node = group.Key("remote_remove_node");
  metrics::Counter& remote_stepdowns = group.Key("remote_stepdowns");
};
ProxyMetrics& ProxyCounters();

}  // namespace rq::node
