// The "http" map of /debug/vars, with rqlite v10's key names
// (http/service.go): requests per endpoint, statements received, auth
// checks. Counted by Handler.
//
// Thread-safety: see metrics/metrics.h.
#pragma once

#include <chrono>

#include "metrics/metrics.h"

namespace rq::http {

struct HttpMetrics {
  metrics::Group group{"http"};
  metrics::Counter& executions = group.Key("executions");  // /db/execute
  metrics::Counter& execute_stmts_rx = group.Key("execute_stmts_rx");
  metrics::Counter& queued_executions = group.Key("queued_executions");  // ?queue
  metrics::Counter& queued_executions_wait = group.Key("queued_executions_wait");  // ?queue&wait
  metrics::Counter& queries = group.Key("queries");  // /db/query
  metrics::Counter& query_stmts_rx = group.Key("query_stmts_rx");
  metrics::Counter& requests = group.Key("requests");  // /db/request
  metrics::Counter& request_stmts_rx = group.Key("request_stmts_rx");
  metrics::Counter& backups = group.Key("backups");
  metrics::Counter& loads = group.Key("loads");
  metrics::Counter& boot = group.Key("boot");
  metrics::Counter& user_snapshots = group.Key("user_snapshots");  // POST /snapshot
  metrics::Counter& user_reaps = group.Key("user_reaps");          // POST /reap
  metrics::Counter& sql_analyze = group.Key("sql_analyze");        // /db/sql
  metrics::Counter& num_readyz = group.Key("num_readyz");
  metrics::Counter& num_status = group.Key("num_status");
  metrics::Counter& ui = group.Key("ui");  // /console
  // Answers 503 "leader not found".
  metrics::Counter& leader_not_found = group.Key("leader_not_found");
  // One per permission checked, with or without -auth (as rqlite counts).
  metrics::Counter& auth_ok = group.Key("auth_ok");
  metrics::Counter& auth_fail = group.Key("auth_fail");
};
HttpMetrics& HttpCounters();

enum class Endpoint;
// The Prometheus series of one answered request: rqlite_http_requests_total
// by endpoint and status code, and for execute, query and request the
// latency histogram rqlite_http_request_duration_seconds. Lock-free once a
// series was seen.
void ObserveReply(Endpoint endpoint, int status, std::chrono::nanoseconds elapsed);

}  // namespace rq::http
