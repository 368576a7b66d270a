// The only way http/ reaches the rest of the node. node/ adapts the store (and
// later the cluster) to this interface; http tests use a fake.
//
// Calls that wait on Raft complete through a callback, which may run on any
// thread; http/ moves the completion back onto the connection's own thread, so no
// Asio thread ever blocks on a commit.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "command/types.h"
#include "http/auth.h"

namespace rq::http {

// Parsed from the query string; only the fields a call uses matter to it.
struct CallOptions {
  command::Consistency level = command::Consistency::kWeak;
  std::chrono::nanoseconds freshness{0};
  bool freshness_strict = false;
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds linearizable_timeout{std::chrono::seconds(10)};
  bool redirect = false;  // ?redirect: NotLeader instead of forwarding
  int retries = 0;
  bool noleader = false;
  // The backend rewrites non-deterministic SQL (RANDOM(), 'now') before a
  // write enters the log, unless told not to.
  bool noparse = false;
  bool norwrandom = false;
  bool norwtime = false;
  bool timings = false;
  bool queue_noleader = false;  // execute?queue&noleader
  // ?sync_index=N: a read waits (up to timeout) until this node has applied
  // log index N, e.g. the raft_index a write of the same client returned.
  uint64_t sync_index = 0;
  // The HTTP client's basic-auth pair: a forwarded request carries it and
  // the leader checks it too (API.md 4.4).
  std::optional<Credentials> credentials;
};

// The status message (InvalidArgument) with which a leader refuses a
// forwarded request's credentials; the forwarding node answers HTTP 401.
inline constexpr std::string_view kUnauthorized = "unauthorized";

// One statement of /db/sql: either rewritten or error is set.
struct RewriteResult {
  std::string original;
  std::string rewritten;
  std::string error;
};

// NotLeader statuses carry the leader's API URL (for ?redirect's Location) in
// this field of the error path; see Backend::LeaderApiUrl.
using Done = std::function<void(Result<command::Response>)>;

struct BackupOptions {
  enum class Format { kBinary, kSql, kDelete } format = Format::kBinary;
  bool vacuum = false;
  std::vector<std::string> tables;  // fmt=sql only
  bool noleader = false;
  bool redirect = false;  // ?redirect: NotLeader instead of forwarding
  std::chrono::nanoseconds timeout{std::chrono::seconds(30)};
  // A follower fetches the backup from the leader with these (API.md 4.4).
  std::optional<Credentials> credentials;
};

struct QueueResult {
  uint64_t sequence_number = 0;
};

struct NodeInfo {
  std::string id;
  std::string api_addr;   // "http://host:port"
  std::string addr;       // Raft address
  std::string version;
  bool voter = true;
  bool reachable = false;
  bool leader = false;
  double time_s = 0;
  std::string error;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Writes: one Raft entry per request.
  virtual void Execute(command::Request request, const CallOptions& options, Done done) = 0;
  // Reads at options.level (auto already resolved by the backend).
  virtual void Query(command::Request request, const CallOptions& options, Done done) = 0;
  // /db/request: reads and writes mixed; the backend decides the path.
  virtual void Request(command::Request request, const CallOptions& options, Done done) = 0;

  // /db/sql: how each statement would be rewritten, without executing it.
  virtual std::vector<RewriteResult> PreviewSql(const command::Request& request,
                                                const CallOptions& options) = 0;

  // Queued writes (?queue). Busy when the queue is full and the caller would
  // have to block; Unavailable when no leader is known (unless noleader).
  virtual Result<QueueResult> Enqueue(command::Request request, const CallOptions& options) = 0;
  // ?wait: calls done(OK) once everything queued before this call is
  // committed, or Timeout.
  virtual void WaitForQueue(std::chrono::nanoseconds timeout, std::function<void(rq::Status)> done) = 0;

  // Writes a backup to a new temporary file and returns its path; the caller
  // streams and deletes it.
  virtual Result<std::string> Backup(const BackupOptions& options) = 0;
  // /db/load with a body that starts with the SQLite magic. The backend
  // validates the whole image (header, integrity check on a copy) before
  // anything is replaced; a bad image is InvalidArgument and changes nothing.
  virtual void LoadDatabase(std::string image, const CallOptions& options, Done done) = 0;
  // /db/load with any other body: a SQL dump, applied all or nothing (its own
  // BEGIN/COMMIT lines are tolerated).
  virtual void LoadDump(std::string sql, const CallOptions& options, Done done) = 0;
  // /boot: the body was streamed to `path` (a temp file the backend owns now).
  virtual rq::Status Boot(const std::string& path) = 0;

  virtual Result<bool> Snapshot(uint64_t trailing_logs) = 0;  // false: nothing new (204)
  virtual Result<boost::json::value> Reap() = 0;

  virtual boost::json::value Status() = 0;     // /status, whole
  virtual boost::json::value DebugVars() = 0;  // /debug/vars, whole
  // /metrics: the Prometheus text exposition format. Must not wait for the
  // writer or the Raft loop (it runs on an I/O thread).
  virtual std::string PrometheusText() = 0;
  virtual std::vector<NodeInfo> Nodes(bool include_nonvoters, std::chrono::nanoseconds timeout) = 0;
  virtual std::optional<NodeInfo> Leader() = 0;
  virtual rq::Status StepDown(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout) = 0;
  virtual rq::Status RemoveNode(const std::string& id, std::chrono::nanoseconds timeout) = 0;
  // The same, with the HTTP client's credentials for the leader's own check
  // when the call is forwarded.
  virtual rq::Status StepDownAs(const std::string& target_id, bool wait, std::chrono::nanoseconds timeout,
                                const std::optional<Credentials>&) {
    return StepDown(target_id, wait, timeout);
  }
  virtual rq::Status RemoveNodeAs(const std::string& id, std::chrono::nanoseconds timeout,
                                  const std::optional<Credentials>&) {
    return RemoveNode(id, timeout);
  }

  // /readyz lines. Each check is (name, ok, detail).
  struct ReadyCheck {
    std::string name;
    bool ok = false;
    std::string detail;
  };
  virtual std::vector<ReadyCheck> Ready(bool noleader, bool sync, std::chrono::nanoseconds timeout) = 0;

  // Leader's HTTP API URL for ?redirect, empty when unknown.
  virtual std::string LeaderApiUrl() = 0;
  // This node's advertised API address, for X-RQLITE-SERVED-BY.
  virtual std::string ServedBy() = 0;
};

}  // namespace rq::http
