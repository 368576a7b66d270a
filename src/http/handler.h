// Handler: everything the HTTP API does between "a whole request arrived" and
// "this reply goes out": routing (API.md 2.1), auth, query-parameter and body
// validation, calls into Backend, status mapping and rendering. It knows no
// sockets: server.cc feeds it HttpRequest values and writes HttpReply values,
// which keeps Beast out of this translation unit and makes it testable alone.
//
// Thread-safety: Handle() may run on any number of threads at once; the
// reply callback may run on a Backend thread, or on a thread of the
// Handler's own: endpoints whose backend calls block (a backup, /boot,
// remove, stepdown, snapshot, reap, /nodes, /readyz) run on a thread each,
// so they never hold one of the server's few I/O threads. The destructor
// waits for those. The Backend and AuthStore must outlive the Handler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/auth.h"
#include "http/backend.h"
#include "http/query_params.h"

namespace rq::http {

enum class Endpoint {
  kRoot,             // "/" -> 302 /console/
  kConsoleRedirect,  // "/console" -> 301 /console/
  kConsole,
  kExecute,
  kQuery,
  kRequest,
  kSql,
  kBackup,
  kLoad,
  kBoot,
  kRemove,
  kLeader,
  kSnapshot,
  kReap,
  kNodes,
  kReadyz,
  kStatus,
  kDebugVars,
  kMetrics,  // Prometheus text format
  kPprof,
  kLicenses,
  kNotFound,
};

// API.md 2.1: prefix matches for most, exact matches for the rest.
Endpoint ClassifyPath(std::string_view path);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received
  std::string content_type;
  std::string authorization;
  std::string body;
  // /boot only: the body was streamed to this file; the handler owns it.
  std::string body_path;
  // Precheck already passed it (the server runs it on the header alone, so
  // Handle need not run it again).
  bool prechecked = false;
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the server streams this file as the body and deletes it.
  std::string file_path;

  void SetHeader(std::string name, std::string value);
  const std::string* FindHeader(std::string_view name) const;
};

using ReplyFn = std::function<void(HttpReply)>;

struct HandlerConfig {
  std::string version = "v10.0.0";  // X-RQLITE-VERSION
  std::string allow_origin;          // Access-Control-Allow-Origin when set
  std::string temp_dir;              // for gzip'd backups; "" = system temp
};

class Handler {
 public:
  Handler(HandlerConfig config, Backend* backend, const AuthStore* auth);
  ~Handler();  // waits for the calls running on threads of their own
  Handler(const Handler&) = delete;
  Handler& operator=(const Handler&) = delete;

  // Answers that need no body: OPTIONS, bad parameters, 404, 401, 405, and
  // redirects. The server calls this before reading a /boot body so a
  // refused upload is never stored. Returns true and fills *reply if the
  // request is answered already.
  bool Precheck(const HttpRequest& request, HttpReply* reply) const;

  // Produces exactly one reply through done (possibly on another thread).
  void Handle(HttpRequest request, ReplyFn done);

 private:
  struct Call;  // one request in flight (handler.cc)

  void Dispatch(Endpoint endpoint, const std::shared_ptr<Call>& call);
  void DispatchContained(Endpoint endpoint, const std::shared_ptr<Call>& call);
  // Runs `fn` on a new thread, counted until it returns.
  void RunOnOwnThread(std::function<void()> fn);
  void HandleExecute(const std::shared_ptr<Call>& call);
  void HandleQueued(const std::shared_ptr<Call>& call, command::Request request);
  void HandleQuery(const std::shared_ptr<Call>& call);
  void HandleRequest(const std::shared_ptr<Call>& call);
  void HandleSql(const std::shared_ptr<Call>& call);
  void HandleBackup(const std::shared_ptr<Call>& call);
  void HandleLoad(const std::shared_ptr<Call>& call);
  void HandleBoot(const std::shared_ptr<Call>& call);
  void HandleRemove(const std::shared_ptr<Call>& call);
  void HandleLeader(const std::shared_ptr<Call>& call);
  void HandleSnapshot(const std::shared_ptr<Call>& call);
  void HandleReap(const std::shared_ptr<Call>& call);
  void HandleNodes(const std::shared_ptr<Call>& call);
  void HandleReadyz(const std::shared_ptr<Call>& call);
  void HandleStatus(const std::shared_ptr<Call>& call, bool debug_vars);

  // Sends the result of a data call (execute/query/request/load).
  Done DataDone(const std::shared_ptr<Call>& call, bool write_rows_null);
  void ReplyError(const std::shared_ptr<Call>& call, const Status& status);
  void AddCommonHeaders(HttpReply* reply) const;

  HandlerConfig config_;
  Backend* backend_;
  const AuthStore* auth_;
  std::mutex threads_mutex_;
  std::condition_variable threads_done_;
  size_t threads_running_ = 0;  // GUARDED_BY(threads_mutex_)
};

}  // namespace rq::http
